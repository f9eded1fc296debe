"""Console test helpers: sign in through the console's own form, then send htmx requests with the CSRF header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Database


def console_sign_in(client: TestClient, user: dict[str, Any]) -> dict[str, str]:
    """Sign `user` in through POST /console/sign-in; returns the headers an htmx request from the console sends."""
    response = client.post(
        "/console/sign-in", data={"email": user["email"], "password": user["password"]}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return {"X-CSRF-Token": client.cookies["ms_csrf"], "HX-Request": "true"}


@pytest.fixture
def console_as(client: TestClient, db: Database) -> Callable[..., dict[str, str]]:
    """`console_as("privacy_staff")`: a new user of those roles, signed in to the console; returns the htmx headers."""

    def sign_in(*roles: str, account: str | None = None) -> dict[str, str]:
        return console_sign_in(client, db.create_user(*roles, account=account))

    return sign_in

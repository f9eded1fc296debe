"""Arrange tracking scenarios through the API: an account with a domain, its API key, registered emails."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import base_settings
from tracking.plugin import SPOOL_STATE_KEY
from tracking.tokens import TokenSigner

DOMAIN = "news.acme.example"
HTML = (
    '<html><body><p>Hi</p><a href="https://shop.example/sale?a=1&amp;b=2">Sale</a>'
    '<a href="mailto:help@acme.example">Mail us</a></body></html>'
)
TRACKING_URL = re.compile(r"http://testserver\.local/t/([oc])/([A-Za-z0-9_-]+)(?:\.gif)?")


def tokens_in(body: str, kind: str) -> list[str]:
    return [token for k, token in TRACKING_URL.findall(body) if k == kind]


def flush(client: TestClient) -> None:
    """Wait (up to 30 s) until every answered hit is in the database."""

    async def loaded() -> None:
        async with asyncio.timeout(30):
            await client.app.state[SPOOL_STATE_KEY].flush()

    client.blocking_portal.call(loaded)


@pytest.fixture
def settings(db, tmp_path):
    """The test settings, with a spool of this test's own."""
    return base_settings(db.url, spool_dir=str(tmp_path / "spool"))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api_key(db) -> str:
    return db.create_api_key("acme")


@pytest.fixture
def signer(settings) -> TokenSigner:
    return TokenSigner(settings.token_keys)


@pytest.fixture
def domain(client: TestClient, api_key: str) -> Callable[..., dict[str, Any]]:
    """`domain(track_opens=True, track_clicks=True)`: registers DOMAIN for acme with those settings."""

    def make(**tracking: Any) -> dict[str, Any]:
        response = client.post("/api/domains", json={"domain": DOMAIN}, headers=bearer(api_key))
        assert response.status_code in (201, 409), response.text
        settings = {"track_opens": False, "track_clicks": False, **tracking}
        response = client.put(f"/api/domains/{DOMAIN}/tracking", json=settings, headers=bearer(api_key))
        assert response.status_code == 200, response.text
        return response.json()

    return make


@pytest.fixture
def send(client: TestClient, api_key: str) -> Callable[..., dict[str, Any]]:
    """`send(html=..., track_opens=False, ...)`: registers an email from DOMAIN and returns the response body."""

    def register(**fields: Any) -> dict[str, Any]:
        body = {
            "domain": DOMAIN,
            "recipient": "reader@mail.example",
            "message_id": "<m1@acme.example>",
            "html": HTML,
            **fields,
        }
        response = client.post("/api/emails", json=body, headers=bearer(api_key))
        assert response.status_code == 201, response.text
        return response.json()

    return register

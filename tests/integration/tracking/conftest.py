"""Arrange tracking scenarios through the API: an account with a domain, its API key, registered emails."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tracking.plugin import WRITER_STATE_KEY
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
    """Wait until the recorder has written every queued hit."""
    client.blocking_portal.call(client.app.state[WRITER_STATE_KEY].flush)


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

"""The login rate limit (30 a minute per client) keys on `client_of`: behind a trusted proxy each
forwarded client has an allowance of its own; an untrusted peer's X-Forwarded-For is ignored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from governance.app import create_app
from tests.conftest import Database, as_peer, base_settings

ALLOWANCE = 30  # auth/controllers.py LOGIN_RATE_LIMIT


@pytest.fixture
def via(db: Database, tmp_path: Path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(peer: str, **overrides: Any) -> TestClient:
        app = as_peer(create_app(base_settings(db.url, spool_dir=str(tmp_path / "spool"), **overrides)), peer)
        client = TestClient(app, base_url="http://testserver.local").__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def attempt(client: TestClient, n: int, forwarded_for: str) -> int:
    body = {"email": f"nobody-{n}@example.test", "password": "wrong password"}  # each email once: no lockout
    return client.post("/auth/login", json=body, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_clients_behind_a_trusted_proxy_have_login_allowances_of_their_own(via, db):
    client = via("10.0.0.1", trusted_proxies=("10.0.0.0/8",))

    spent = [attempt(client, n, "198.51.100.1") for n in range(ALLOWANCE)]
    refused = attempt(client, ALLOWANCE, "198.51.100.1")
    other = attempt(client, ALLOWANCE + 1, "198.51.100.2")

    assert set(spent) == {401} and refused == 429
    assert other == 401  # another person behind the same proxy is still heard


def test_an_untrusted_peers_forwarded_for_is_ignored_by_the_login_limit(via, db):
    client = via("203.0.113.9", trusted_proxies=("10.0.0.0/8",))

    spent = [attempt(client, n, f"198.51.100.{n}") for n in range(ALLOWANCE)]  # inventing a new address each time

    assert set(spent) == {401}
    assert attempt(client, ALLOWANCE, "198.51.100.250") == 429  # all counted against the peer itself

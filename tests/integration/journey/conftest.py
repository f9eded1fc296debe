"""Fixtures for the journey tests: a client whose TCP peer we choose."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from governance.app import create_app
from governance.core.settings import Settings
from tests.conftest import Database, as_peer, base_settings


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    """The test settings, with a spool of this test's own."""
    return base_settings(db.url, spool_dir=str(tmp_path / "spool"))


@pytest.fixture
def client_via(db: Database, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """`client_via("10.0.0.7", trusted_proxies=("10.0.0.0/8",))`: a client arriving from that address."""
    clients: list[TestClient] = []

    def make(peer: str, **overrides: Any) -> TestClient:
        overrides.setdefault("spool_dir", str(tmp_path / f"spool-{len(clients)}"))
        app = as_peer(create_app(base_settings(db.url, **overrides)), peer)
        client = TestClient(app, base_url="http://testserver.local")
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)

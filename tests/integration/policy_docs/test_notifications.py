"""A publish or a withdrawal on one instance is served by every other within a second: announced
over PostgreSQL LISTEN/NOTIFY, or Redis pub/sub with MS_REDIS_URL. The other instance's cache here
would otherwise wait an hour (its poll is set to 3600 s), so only the announcement can pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from governance.app import create_app
from policy_docs import cache as policy_cache
from policy_docs import notify
from tests.conftest import Database, base_settings, login
from tests.integration.policy_docs.helpers import draft_with_theme_cookie, publish

WITHIN_SECONDS = 1.0


@pytest.fixture(params=["database", "redis"])
def transport(request: pytest.FixtureRequest, db: Database) -> dict[str, Any]:
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        return {"redis_url": server.url, "redis_namespace": server.namespace()}
    if not db.url.startswith("postgresql"):
        pytest.skip("SQLite has no LISTEN/NOTIFY: instances on one SQLite file follow the 5 s poll (or Redis)")
    return {}


@pytest.fixture
def instances(db: Database, tmp_path: Path, transport: dict[str, Any]) -> Iterator[Callable[[], TestClient]]:
    clients: list[TestClient] = []

    def start() -> TestClient:
        settings = base_settings(db.url, spool_dir=str(tmp_path / f"spool-{len(clients)}"), **transport)
        client = TestClient(create_app(settings), base_url="http://testserver.local").__enter__()
        clients.append(client)
        policy_cache.of(client.app.state).ttl = 3600.0  # the poll cannot rescue this test

        async def listening() -> None:
            await asyncio.wait_for(notify.of(client.app.state).listening.wait(), timeout=10)

        client.blocking_portal.call(listening)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def seen_within(client: TestClient, expected: Callable[[], bool]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 5:
        if expected():
            return time.monotonic() - started
        time.sleep(0.02)
    pytest.fail(f"not seen on the other instance within 5 s ({notify.of(client.app.state).mode})")


def current_number(client: TestClient) -> int:
    return client.get("/api/policy/current").json()["number"]


def test_a_publish_on_one_instance_is_served_by_another_within_a_second(instances, db):
    first, second = instances(), instances()
    headers = login(first, db.create_user("privacy_staff"))
    assert current_number(second) == 1  # the other instance has loaded its timeline

    draft = draft_with_theme_cookie(first, headers)
    assert publish(first, headers, draft["id"]).status_code == 201

    elapsed = seen_within(second, lambda: current_number(second) == 2)
    assert elapsed < WITHIN_SECONDS
    assert notify.of(second.app.state).heard >= 1


def test_a_withdrawal_on_one_instance_is_served_by_another_within_a_second(instances, db):
    first, second = instances(), instances()
    headers = login(first, db.create_user("privacy_staff"))
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    draft = draft_with_theme_cookie(first, headers)
    assert publish(first, headers, draft["id"], effective_from=later.isoformat()).status_code == 201
    seen_within(second, lambda: second.get("/api/policy/versions/2").status_code == 200)

    response = first.post(
        "/api/policy/versions/2/withdraw", json={"reason": "Legal wants another look."}, headers=headers
    )
    assert response.status_code == 200, response.text

    elapsed = seen_within(second, lambda: second.get("/api/policy/versions/2").status_code == 404)
    assert elapsed < WITHIN_SECONDS


def test_without_an_announcement_the_other_instance_keeps_its_timeline_until_the_poll(db, tmp_path):
    """The control: on SQLite without Redis nothing is announced, so the other cache is only as fresh as its poll."""
    if db.url.startswith("postgresql"):
        pytest.skip("on PostgreSQL the database announces every change")
    clients = [
        TestClient(
            create_app(base_settings(db.url, spool_dir=str(tmp_path / f"s{i}"))), base_url="http://testserver.local"
        )
        for i in range(2)
    ]
    first, second = (client.__enter__() for client in clients)
    try:
        policy_cache.of(second.app.state).ttl = 3600.0
        assert notify.of(second.app.state).mode == "poll"
        headers = login(first, db.create_user("privacy_staff"))
        assert current_number(second) == 1
        draft = draft_with_theme_cookie(first, headers)
        assert publish(first, headers, draft["id"]).status_code == 201
        time.sleep(WITHIN_SECONDS)

        assert (current_number(first), current_number(second)) == (2, 1)
    finally:
        for client in clients:
            client.__exit__(None, None, None)

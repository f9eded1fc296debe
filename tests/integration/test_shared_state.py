"""Shared state through the app's stores: with MS_REDIS_URL two apps (two workers, two instances)
count against one rate limit and see one click burst; without it each counts alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.testing import TestClient

from governance.app import create_app
from governance.enforcement import intake
from tests.conftest import Database, RedisServer, base_settings
from tests.integration.enforcement.test_endpoints import REPORT, beacon
from tests.integration.journey.helpers import batch
from tracking import classify


@pytest.fixture
def apps(db: Database, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """`apps(**settings)`: a started app of its own (its own spool), as another worker would be."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        overrides.setdefault("spool_dir", str(tmp_path / f"spool-{len(clients)}"))
        client = TestClient(create_app(base_settings(db.url, **overrides)), base_url="http://testserver.local")
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_two_apps_on_one_redis_share_the_journey_rate_limit(apps, redis_server: RedisServer):
    shared = {"redis_url": redis_server.url, "redis_namespace": redis_server.namespace()}
    first, second = apps(**shared, journey_batches_per_minute=2), apps(**shared, journey_batches_per_minute=2)
    elsewhere = apps(redis_url=redis_server.url, redis_namespace=redis_server.namespace(), journey_batches_per_minute=2)

    statuses = [first.post("/journey/events", json=batch()).status_code for _ in range(2)]
    refused = second.post("/journey/events", json=batch())

    assert statuses == [202, 202]
    assert refused.status_code == 429  # the other worker already spent this client's allowance
    assert isinstance(first.app.stores.get("journey_events_rate_limit"), RedisStore)
    assert elsewhere.post("/journey/events", json=batch()).status_code == 202  # another deployment's namespace


def test_without_redis_each_app_counts_alone(apps):
    first, second = apps(journey_batches_per_minute=1), apps(journey_batches_per_minute=1)

    assert first.post("/journey/events", json=batch()).status_code == 202
    assert first.post("/journey/events", json=batch()).status_code == 429
    assert second.post("/journey/events", json=batch()).status_code == 202  # in memory: per process
    assert isinstance(first.app.stores.get("journey_events_rate_limit"), MemoryStore)


def test_two_apps_on_one_redis_share_the_violation_report_limits(apps, redis_server: RedisServer, monkeypatch):
    monkeypatch.setattr(intake, "now", lambda: 1_800_000_030.0)  # one window
    shared = {"redis_url": redis_server.url, "redis_namespace": redis_server.namespace()}
    first, second = apps(**shared), apps(**shared)
    flood = {**REPORT, "page": "https://mailssetu.in/loop", "name": "loop_key"}

    statuses = [beacon(first, flood).status_code for _ in range(intake.PER_ITEM)]

    assert statuses == [204] * intake.PER_ITEM
    assert beacon(second, flood).status_code == 429


def test_a_click_burst_spread_over_two_apps_on_one_redis_is_one_burst(apps, redis_server: RedisServer):
    shared = {"redis_url": redis_server.url, "redis_namespace": redis_server.namespace()}
    first, second = apps(**shared), apps(**shared)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def click(client: TestClient, link: int, seconds: int) -> datetime | None:
        async def go() -> datetime | None:
            store = client.app.stores.get(classify.BURST_STORE)
            return await classify.BurstDetector(store).click(41, link, at + timedelta(seconds=seconds))

        return client.blocking_portal.call(go)

    assert [click(first, 0, 0), click(second, 1, 1), click(first, 2, 2)] == [None, None, at]


def test_redis_keys_are_under_the_configured_namespace(apps, redis_server: RedisServer):
    namespace = redis_server.namespace()
    client = apps(redis_url=redis_server.url, redis_namespace=namespace, journey_batches_per_minute=5)
    assert client.post("/journey/events", json=batch()).status_code == 202

    async def keys() -> list[bytes]:
        from redis.asyncio import Redis

        redis = Redis.from_url(redis_server.url)
        try:
            return [key async for key in redis.scan_iter(match=f"{namespace}*")]
        finally:
            await redis.aclose()

    found = asyncio.run(keys())
    assert found and all(key.decode().startswith(f"{namespace}_journey_events_rate_limit:") for key in found)

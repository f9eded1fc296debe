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
from governance.core.stores import STORES_STATE_KEY, DegradingStore
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
    store = first.app.stores.get("journey_events_rate_limit")
    assert isinstance(store, DegradingStore) and isinstance(store.store, RedisStore)
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


# A Redis outage: nothing listens on this port. The stores degrade to "remember nothing", nothing fails.
NO_REDIS = "redis://127.0.0.1:1/0"


def test_with_redis_unreachable_the_rate_limited_routes_answer_as_without_a_limit(apps, db):
    client = apps(redis_url=NO_REDIS, journey_batches_per_minute=1)
    wrong = {"email": "nobody@example.test", "password": "wrong password"}

    journey = [client.post("/journey/events", json=batch()).status_code for _ in range(3)]
    reports = [beacon(client, REPORT).status_code for _ in range(2)]
    login = client.post("/auth/login", json=wrong)

    assert journey == [202, 202, 202]  # the limit's counter is in Redis: while it is away, no limit
    assert reports == [204, 204]
    assert login.status_code == 401  # the failed-login lockout is in the database: it still counts
    assert db.scalar("SELECT count(*) FROM login_failures") == 1


def test_with_redis_unreachable_health_says_degraded_but_stays_200(apps):
    response = apps(redis_url=NO_REDIS).get("/health")

    assert response.status_code == 200  # every instance shares the one Redis: do not take them all out
    assert response.json() == {"status": "degraded", "database": "ok", "shared_store": "unreachable"}


def test_with_redis_reachable_health_says_so(apps, redis_server: RedisServer):
    response = apps(redis_url=redis_server.url, redis_namespace=redis_server.namespace()).get("/health")

    assert response.json() == {"status": "ok", "database": "ok", "shared_store": "ok"}


def test_after_a_failure_redis_is_left_alone_for_a_while(apps, monkeypatch):
    client = apps(redis_url=NO_REDIS)
    store = client.app.stores.get("journey_events_rate_limit")
    calls = []

    class Counted:  # the Redis store, counting the reads that reach it
        async def get(self, *args: Any) -> bytes | None:
            calls.append(args)
            return await redis_store.get(*args)

    redis_store = store.store
    monkeypatch.setattr(store, "store", Counted())

    async def read_twice() -> tuple[bytes | None, bytes | None]:
        return await store.get("k"), await store.get("k")

    assert client.blocking_portal.call(read_twice) == (None, None)
    assert len(calls) == 1  # the second read did not try (and wait on) the unreachable server again


def test_without_redis_health_names_no_shared_store(apps):
    assert apps().get("/health").json() == {"status": "ok", "database": "ok"}


def test_a_health_check_that_reaches_redis_ends_the_outage_at_once(apps, redis_server: RedisServer):
    client = apps(redis_url=redis_server.url, redis_namespace=redis_server.namespace())
    stores = client.app.state[STORES_STATE_KEY]
    stores.outage.begin(OSError("a blip"))

    assert stores.outage.active
    assert client.get("/health").json()["shared_store"] == "ok"
    assert not stores.outage.active  # the rate limits count again without waiting out the retry interval

"""Shared state: the app's named Litestar stores (`app.stores.get(name)`), one namespace per use.

In memory by default (enough for one process); in Redis when `MS_REDIS_URL` is set, so every
worker and every instance counts against the same rate limits and remembers the same recent
clicks. Each use asks for its own name (`login_rate_limit`, `journey_events_rate_limit`,
`violation_reports_rate_limit`, `tracking_click_bursts`); under Redis a name is a key namespace
inside `MS_REDIS_NAMESPACE`, so several deployments (or test sessions) can share one server.

A Redis outage degrades, it does not fail: what the stores hold are rate-limit counters and
recent clicks, so while Redis cannot be reached each store reads as empty and forgets writes
(the rate limits let requests through; the failed-login lockout, in the database, still holds),
a warning is logged, and `/health` says `"shared_store": "unreachable"`. After a failure Redis is
left alone for `RETRY_SECONDS`, so no request waits on a connect timeout meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar, cast

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry

if TYPE_CHECKING:
    from datetime import timedelta

    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    from governance.core.settings import Settings

logger = logging.getLogger("governance.stores")
T = TypeVar("T")
RETRY_SECONDS = 5.0
STORES_STATE_KEY = "stores"


def _memory(_name: str) -> Store:
    return MemoryStore()


class Outage:
    """Whether Redis is taken as down, shared by every namespace of one client."""

    def __init__(self) -> None:
        self.until = 0.0

    @property
    def active(self) -> bool:
        return time.monotonic() < self.until

    def begin(self, exc: Exception) -> None:
        if not self.active:
            logger.warning("Redis unreachable (%s): rate limits and the click-burst rule run without it", exc)
        self.until = time.monotonic() + RETRY_SECONDS

    def end(self) -> None:
        self.until = 0.0


class DegradingStore(Store):
    """A Redis namespace that reads as empty and drops writes while Redis is unreachable."""

    def __init__(self, store: RedisStore, outage: Outage) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        self.store, self.outage = store, outage
        self._unreachable = (RedisConnectionError, RedisTimeoutError, OSError)

    async def _call(self, work: Callable[[], Awaitable[T]], fallback: T) -> T:
        if self.outage.active:
            return fallback
        try:
            return await work()
        except self._unreachable as exc:
            self.outage.begin(exc)
            return fallback

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await self._call(lambda: self.store.set(key, value, expires_in), None)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self._call(lambda: self.store.get(key, renew_for), None)

    async def delete(self, key: str) -> None:
        await self._call(lambda: self.store.delete(key), None)

    async def delete_all(self) -> None:
        await self._call(self.store.delete_all, None)

    async def exists(self, key: str) -> bool:
        return await self._call(lambda: self.store.exists(key), False)

    async def expires_in(self, key: str) -> int | None:
        return await self._call(lambda: self.store.expires_in(key), None)


class Stores:
    """The registry for one app and, under Redis, the client every namespace shares (closed on shutdown)."""

    def __init__(self, settings: Settings) -> None:
        self.redis: Redis | None = None
        self.outage = Outage()
        if not settings.redis_url:
            self.registry = StoreRegistry(default_factory=_memory)
            return
        from litestar.stores.redis import RedisStore
        from redis.asyncio import Redis

        self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        root = RedisStore(self.redis, namespace=settings.redis_namespace, handle_client_shutdown=False)
        self.registry = StoreRegistry(
            default_factory=lambda name: DegradingStore(root.with_namespace(name), self.outage)
        )

    async def reachable(self) -> bool | None:
        """For `/health`: None without Redis, else whether it answers a PING now."""
        if self.redis is None:
            return None
        try:
            await cast("Awaitable[bool]", self.redis.ping())  # typed sync-or-async by redis-py
        except Exception as exc:  # noqa: BLE001  (any failure to answer means: unreachable)
            self.outage.begin(exc)
            return False
        self.outage.end()  # answered: the stores need not wait out the retry interval
        return True

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

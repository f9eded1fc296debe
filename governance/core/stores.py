"""Shared state: the app's named Litestar stores (`app.stores.get(name)`), one namespace per use.

In memory by default (enough for one process); in Redis when `MS_REDIS_URL` is set, so every
worker and every instance counts against the same rate limits and remembers the same recent
clicks. Each use asks for its own name (`login_rate_limit`, `journey_events_rate_limit`,
`violation_reports_rate_limit`, `tracking_click_bursts`); under Redis a name is a key namespace
inside `MS_REDIS_NAMESPACE`, so several deployments (or test sessions) can share one server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry

if TYPE_CHECKING:
    from litestar.stores.base import Store
    from redis.asyncio import Redis

    from governance.core.settings import Settings


def _memory(_name: str) -> Store:
    return MemoryStore()


class Stores:
    """The registry for one app and, under Redis, the client every namespace shares (closed on shutdown)."""

    def __init__(self, settings: Settings) -> None:
        self.redis: Redis | None = None
        if not settings.redis_url:
            self.registry = StoreRegistry(default_factory=_memory)
            return
        from litestar.stores.redis import RedisStore
        from redis.asyncio import Redis

        self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        root = RedisStore(self.redis, namespace=settings.redis_namespace, handle_client_shutdown=False)
        self.registry = StoreRegistry(default_factory=root.with_namespace)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

"""Policy changes reach every instance within a second: a publish or a withdrawal is announced, and
every app's cache reloads its timeline on the announcement.

- With `MS_REDIS_URL`: Redis pub/sub on `<MS_REDIS_NAMESPACE>:policy_changes`, published after the commit.
- Else on PostgreSQL: `NOTIFY policy_changes` inside the publishing transaction (delivered on commit,
  never for a rolled-back one), heard through `LISTEN` on a dedicated asyncpg connection.
- Else (SQLite, one host): nothing to listen to.

The 5 s poll of `policy_docs.cache` stays as the fallback: a listener that loses its connection
reconnects (and reloads, since it may have missed an announcement); meanwhile the poll keeps every
instance at most `ttl` seconds behind. A scheduled version needs no announcement when its instant
comes: its publish was announced, and every cache answers by bisecting its timeline on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url, text

from policy_docs.cache import PolicyCache

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from governance.core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "policy_changes"
NOTIFIER_STATE_KEY = "policy_changes"
RECONNECT_SECONDS = 1.0


class PolicyChanges:
    """Announces this app's policy changes and reloads its cache on everyone's (one per app)."""

    def __init__(self, settings: Settings, cache: PolicyCache) -> None:
        self.cache = cache
        self.redis_url = settings.redis_url
        self.redis_channel = f"{settings.redis_namespace}:{CHANNEL}"
        url = make_url(settings.database_url)
        self.postgres_dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if not self.redis_url and url.get_backend_name() == "postgresql"
            else None
        )
        self.listening = asyncio.Event()  # set while a listener is connected (tests wait for it)
        self.heard = 0  # announcements received, ours included
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def mode(self) -> str:
        return "redis" if self.redis_url else "postgresql" if self.postgres_dsn else "poll"

    async def committed(self, session: AsyncSession) -> None:
        """Commit the session's policy change and announce it; this app's cache reloads at once."""
        if self.postgres_dsn:
            await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        await session.commit()  # before any cache reloads, so none caches the old timeline
        self.cache.invalidate()
        if self._redis is not None:
            try:
                await self._redis.publish(self.redis_channel, b"")
            except Exception as exc:  # noqa: BLE001  (Redis away: the change is committed; the poll carries it)
                log.warning("policy change not announced over Redis (other instances follow within the poll): %s", exc)

    async def start(self) -> None:
        if self.redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.redis_url, socket_connect_timeout=2)
        if self.mode != "poll":
            self._task = asyncio.create_task(self._listen_forever(), name="policy-changes-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _heard(self, *_: object) -> None:
        self.heard += 1
        self.cache.invalidate()

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                await (self._listen_redis() if self._redis is not None else self._listen_postgres())
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  (any failure: reconnect; the poll covers the gap)
                failures += 1
                if failures == 1:
                    log.warning("policy change listener (%s) lost its connection, reconnecting: %s", self.mode, exc)
            finally:
                self.listening.clear()
            await asyncio.sleep(min(RECONNECT_SECONDS * failures, 10.0) or RECONNECT_SECONDS)

    async def _listen_postgres(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        assert self.postgres_dsn is not None
        connection = await asyncpg.connect(self.postgres_dsn, timeout=5)
        closed = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: closed.set())
            await connection.add_listener(CHANNEL, self._heard)
            self.cache.invalidate()  # what was announced while we were not listening
            self.listening.set()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), timeout=5)
                if not closed.is_set():
                    await connection.execute("SELECT 1")  # a dead peer shows up here, not in the termination hook
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)

    async def _listen_redis(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.redis_channel)
            self.cache.invalidate()
            self.listening.set()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message is not None and message.get("type") == "message":
                    self._heard()
                elif message is None:
                    await pubsub.ping()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


def of(state: Any) -> PolicyChanges:
    changes: PolicyChanges = state[NOTIFIER_STATE_KEY]
    return changes

"""The published policy, held in memory: what hot paths (page, Set-Cookie guard, allowlist) ask.

Usage, anywhere that has the app's state (a middleware has `scope["app"].state`):

    from policy_docs import cache
    snapshot = await cache.current(app.state)          # PolicySnapshot in force now, or None
    snapshot = await cache.at(app.state, instant)      # ... in force at `instant` (aware datetime)
    declaration = snapshot.declaration_for("cookie", "ms_access") if snapshot else None

How it stays right without querying on every call: published versions never change, so each
is loaded once; what can change is the *timeline* (which numbers take effect when). The
timeline is held in memory and answered by bisecting on the clock, so a scheduled version
takes over at its exact instant with no query. It is reloaded after a publish or a withdrawal
in this process (`invalidate`) and at most every `ttl` seconds (for those of other instances).
A withdrawn version leaves the timeline, and with it every answer of the cache.
One `PolicyCache` per app, in `app.state["policy_cache"]`.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from policy_docs import service
from policy_docs.schemas import PolicySnapshot

STATE_KEY = "policy_cache"
DEFAULT_TTL_SECONDS = 5.0


class PolicyCache:
    def __init__(
        self,
        session_factory: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        *,
        document: str = service.COOKIE_POLICY,
        ttl: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._session_factory = session_factory
        self.document = document
        self.ttl = ttl
        self._starts: list[datetime] = []
        self._numbers: list[int] = []
        self._snapshots: dict[int, PolicySnapshot] = {}
        self._published: frozenset[int] = frozenset()  # the numbers on the timeline: withdrawn ones drop out
        self._loaded_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self.rendered: dict[Any, Any] = {}  # rendered pages, keyed by whatever they depend on

    def invalidate(self) -> None:
        """Reload the timeline on the next call (after a publish in this process)."""
        self._loaded_at = None

    async def current(self) -> PolicySnapshot | None:
        """The version in force now."""
        return await self.at(service.now())

    async def at(self, instant: datetime) -> PolicySnapshot | None:
        await self._fresh()
        index = bisect_right(self._starts, service.as_utc(instant)) - 1
        return self._snapshots[self._numbers[index]] if index >= 0 else None

    async def in_force_number(self) -> int | None:
        """The number of the version in force now (cheap: no snapshot is built)."""
        await self._fresh()
        index = bisect_right(self._starts, service.now()) - 1
        return self._numbers[index] if index >= 0 else None

    async def version(self, number: int) -> PolicySnapshot | None:
        """A published version; None for a number never published or since withdrawn."""
        await self._fresh()
        return self._snapshots.get(number) if number in self._published else None

    async def previous(self, number: int) -> PolicySnapshot | None:
        """The published version before `number` (numbers of withdrawn versions are skipped)."""
        await self._fresh()
        earlier = [n for n in self._published if n < number]
        return self._snapshots[max(earlier)] if earlier else None

    async def versions(self) -> list[PolicySnapshot]:
        """Every published version, by number."""
        await self._fresh()
        return [self._snapshots[n] for n in sorted(self._numbers)]

    async def next_change_after(self, instant: datetime) -> datetime | None:
        await self._fresh()
        index = bisect_right(self._starts, service.as_utc(instant))
        return self._starts[index] if index < len(self._starts) else None

    async def _fresh(self) -> None:
        if self._loaded_at is not None and time.monotonic() - self._loaded_at < self.ttl:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one reload at a time; the others then see it done
            if self._loaded_at is not None and time.monotonic() - self._loaded_at < self.ttl:
                return
            await self._reload()

    async def _reload(self) -> None:
        async with self._session_factory() as session:
            timeline = await service.timeline(session, self.document)
            missing = [number for _, number in timeline if number not in self._snapshots]
            if missing:
                for snapshot in await service.published_versions(session, self.document, missing):
                    self._snapshots[snapshot.number] = snapshot
        self._starts = [start for start, _ in timeline]
        self._numbers = [number for _, number in timeline]
        self._published = frozenset(self._numbers)
        self._loaded_at = time.monotonic()


def of(state: Any) -> PolicyCache:
    cache: PolicyCache = state[STATE_KEY]
    return cache


async def current(state: Any) -> PolicySnapshot | None:
    """The version in force now (None only before the first version's effective date)."""
    return await of(state).current()


async def at(state: Any, instant: datetime) -> PolicySnapshot | None:
    return await of(state).at(instant)

"""Group commit for tracking hits: the routes queue a hit and answer at once; one background task
writes whatever has queued up in one transaction, then the next batch, and drains the queue on a
graceful shutdown.

Written by hand (a queue and a task) because nothing in Litestar or advanced-alchemy batches
writes across requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from tracking import classify, events
from tracking.events import Hit

log = logging.getLogger(__name__)


class EventRecorder:
    def __init__(
        self,
        session_maker: Callable[[], AsyncSession],
        *,
        max_batch: int = 2000,
        max_pending: int = 200_000,
        retry_delays: tuple[float, ...] = (0.05, 0.2, 1.0, 5.0),
    ) -> None:
        self._session_maker = session_maker
        self._pending: deque[Hit] = deque()
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._retry_delays = retry_delays
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._bursts = classify.BurstDetector()
        self.written = 0  # events written (hits no longer allowed are dropped, not counted)
        self.batches = 0
        self.lost = 0

    # --- the routes' side ---------------------------------------------------------------------

    async def hit(self, hit: Hit) -> None:
        """Queue a hit; waits only when the writer is far behind (back-pressure instead of loss)."""
        while len(self._pending) >= self._max_pending:
            self._room.clear()
            await self._room.wait()
        self._pending.append(hit)
        self._idle.clear()
        self._wakeup.set()

    # --- lifespan --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        # fresh events: the app may be started again on another event loop (tests)
        self._wakeup, self._room, self._idle = asyncio.Event(), asyncio.Event(), asyncio.Event()
        if self._pending:
            self._wakeup.set()
        else:
            self._idle.set()
        self._task = asyncio.create_task(self._run(), name="tracking-recorder")

    async def stop(self) -> None:
        """Drain: write everything queued before returning."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.lost:
            log.error("tracking recorder lost %d hits it could not write", self.lost)

    async def flush(self) -> None:
        """Wait until every hit queued so far is written (tests, benchmarks)."""
        self._wakeup.set()
        while self._pending or not self._idle.is_set():
            await self._idle.wait()

    # --- the writer --------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(self._max_batch, len(self._pending)))]
                self._room.set()
                await self._write(batch)
            self._idle.set()
            if self._stopping and not self._pending:
                return

    async def _write(self, batch: list[Hit]) -> None:
        for attempt, delay in enumerate((*self._retry_delays, None)):
            try:
                async with self._session_maker() as session, session.begin():
                    self.written += await events.record_hits(session, batch, self._bursts)
                self.batches += 1
                return
            except Exception:
                if delay is None:
                    self.lost += len(batch)
                    log.exception(
                        "tracking recorder: giving up on a batch of %d hits after %d attempts", len(batch), attempt + 1
                    )
                    return
                log.warning(
                    "tracking recorder: batch of %d hits failed; retrying in %.2f s", len(batch), delay, exc_info=True
                )
                await asyncio.sleep(delay)

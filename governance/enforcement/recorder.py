"""Records server-side violations off the hot path: the guard queues, a task writes in batches.

The queue is drained at shutdown, so nothing seen before a clean stop is lost. A full queue
(the database is down or far behind) drops reports and says so in the log, never blocks a response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from governance.enforcement import service
from governance.enforcement.schemas import ViolationReport

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
SessionFactory = Callable[[], "contextlib.AbstractAsyncContextManager[AsyncSession]"]


class ViolationRecorder:
    def __init__(self, session_factory: SessionFactory, *, max_queued: int = 10_000, batch_size: int = 200) -> None:
        self.session_factory = session_factory
        self.batch_size = batch_size
        self.queue: asyncio.Queue[ViolationReport] | None = None
        self.max_queued = max_queued
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def submit(self, report: ViolationReport) -> None:
        """Non-blocking: called from the guard on the response path."""
        if self.queue is None:
            log.warning("violation recorder not started; dropped %s", report.name)
            return
        if report.occurred_at is None:
            report = _stamped(report)
        try:
            self.queue.put_nowait(report)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("violation queue full: %d reports dropped so far", self.dropped)

    async def start(self) -> None:
        self.queue = asyncio.Queue(self.max_queued)
        self._task = asyncio.create_task(self._run(), name="violation-recorder")

    async def stop(self) -> None:
        """Write whatever is still queued, then stop the writer."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def flush(self) -> None:
        """Return once every report queued so far is written (or its write has failed and been logged)."""
        if self.queue is None:
            return
        if self._task is not None and not self._task.done():
            await self.queue.join()
            return
        while not self.queue.empty():
            await self._write(self._take_batch(self.batch_size))

    async def _run(self) -> None:
        assert self.queue is not None
        while True:
            first = await self.queue.get()
            await self._write([first, *self._take_batch(self.batch_size - 1)])

    def _take_batch(self, size: int) -> list[ViolationReport]:
        assert self.queue is not None
        batch: list[ViolationReport] = []
        while len(batch) < size and not self.queue.empty():
            batch.append(self.queue.get_nowait())
        return batch

    async def _write(self, batch: list[ViolationReport]) -> int:
        try:
            async with self.session_factory() as session:
                written = await service.record(session, batch)
                await session.commit()
                return written
        except Exception:
            log.exception("could not record %d violation reports", len(batch))
            return 0
        finally:
            for _ in batch:
                self.queue.task_done()  # type: ignore[union-attr]


def _stamped(report: ViolationReport) -> ViolationReport:
    return msgspec.structs.replace(report, occurred_at=datetime.now(UTC))

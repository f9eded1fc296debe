"""Group commit: callers queue items, one background task writes whatever has queued up as one batch.

Written by hand because nothing in Litestar or advanced-alchemy batches writes across requests.
One class, two policies for a full queue:
- `when_full="wait"`: back-pressure, nothing is lost (tracking hits);
- `when_full="drop"`: a caller on a response path never waits, drops and counts (violation reports).
`put_nowait` never waits whatever the policy (for hooks that must not block). `put_and_wait` also
waits until the batch the item joined is written (durability before an answer: each caller waits
for the one write of its batch, not for a write of its own), within a bound. `in_flight` batches may
be written at once (an fsync pipeline: the next batch need not wait for the previous one's disk).
A failed batch is retried after each of `retry_delays`, then counted as lost and logged. `stop()`
drains the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, Literal, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteBatch = Callable[[list[T]], Awaitable[int]]


class BatchWriter(Generic[T]):
    def __init__(
        self,
        name: str,
        write_batch: WriteBatch[T],
        *,
        when_full: Literal["wait", "drop"],
        max_pending: int,
        max_batch: int,
        retry_delays: tuple[float, ...] = (),
        in_flight: int = 1,
    ) -> None:
        self.name = name
        self._write_batch = write_batch
        self.when_full = when_full
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.retry_delays = retry_delays
        self.in_flight = in_flight
        self._pending: deque[T] = deque()
        # (sequence number of the item, its caller's future, the caller's deadline), in arrival order
        self._waiters: deque[tuple[int, asyncio.Future[bool], float]] = deque()
        self._queued = 0  # items ever queued: the last one's sequence number
        self._taken = 0  # items ever taken into a batch
        self._writing = 0  # batches being written now
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._new_events()
        self.written = 0  # what write_batch reported as written
        self.batches = 0
        self.dropped = 0  # refused because the queue was full
        self.lost = 0  # in batches that failed every attempt
        self.unconfirmed = 0  # put_and_wait callers answered False because their bound passed first

    def _new_events(self) -> None:
        # fresh events per start: the app may be started again on another event loop (tests)
        self._wakeup, self._room, self._idle = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._slots = asyncio.Semaphore(self.in_flight)
        self._deadline_timer: asyncio.TimerHandle | None = None
        if not self._pending:
            self._idle.set()

    # --- callers ------------------------------------------------------------------------------

    async def put(self, item: T) -> None:
        """Queue an item; when the queue is full, wait for room or drop it, as the policy says."""
        while len(self._pending) >= self.max_pending:
            if self.when_full == "drop":
                self._drop()
                return
            self._room.clear()
            await self._room.wait()
        self._append(item)

    async def put_and_wait(self, item: T, *, within: float) -> bool:
        """Queue an item and wait until the batch it joined is written. True once it is; False when
        it was dropped, its batch was lost, or `within` seconds passed first (it then stays queued)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        if len(self._pending) >= self.max_pending:  # rare: wait for room, within the same bound
            dropped = self.dropped
            try:
                async with asyncio.timeout_at(deadline):
                    await self.put(item)
            except TimeoutError:
                self.unconfirmed += 1
                return False
            if self.dropped != dropped:
                return False
        else:
            self._append(item)
        written: asyncio.Future[bool] = loop.create_future()
        self._waiters.append((self._queued, written, deadline))
        if self._deadline_timer is None:
            self._deadline_timer = loop.call_at(deadline, self._expire)
        return await written

    def put_nowait(self, item: T) -> bool:
        """Queue an item without ever waiting; False (and counted as dropped) when the queue is full."""
        if len(self._pending) >= self.max_pending:
            self._drop()
            return False
        self._append(item)
        return True

    def _append(self, item: T) -> None:
        self._pending.append(item)
        self._queued += 1
        self._idle.clear()
        self._wakeup.set()

    def _drop(self) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:
            log.error("%s: queue full, %d items dropped so far", self.name, self.dropped)

    # --- waiting callers ------------------------------------------------------------------------------

    def _settle(self, first: int, last: int, outcome: bool) -> None:
        """Answer the callers of items `first`..`last` (one batch, written or lost). Batches in flight
        may finish out of order, so a caller further left may still be waiting: it is skipped."""
        for sequence, written, _ in self._waiters:
            if sequence > last:
                break
            if sequence >= first and not written.done():  # a caller who stopped waiting cancelled it
                written.set_result(outcome)
        self._forget_answered()

    def _expire(self) -> None:
        """Answer False to the callers whose bound passed (deadlines follow arrival: the oldest first),
        then wait for the next one. One timer for all callers, not one each: this is a hot path."""
        loop = asyncio.get_running_loop()
        self._deadline_timer = None
        now = loop.time()
        for _, written, deadline in self._waiters:
            if deadline > now:
                break
            if not written.done():
                written.set_result(False)
                self.unconfirmed += 1
        self._forget_answered()
        if self._waiters:
            self._deadline_timer = loop.call_at(self._waiters[0][2], self._expire)

    def _forget_answered(self) -> None:
        while self._waiters and self._waiters[0][1].done():
            self._waiters.popleft()

    # --- lifespan --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._new_events()
        if self._pending:
            self._wakeup.set()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Write everything queued, then end the writer."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.lost:
            log.error("%s lost %d items it could not write", self.name, self.lost)

    async def flush(self) -> None:
        """Return once every item queued so far is written (or given up on and counted)."""
        if self._task is None:
            while self._pending:
                await self._write(*self._take())
            return
        self._wakeup.set()
        while self._pending or not self._idle.is_set():
            await self._idle.wait()

    # --- the writer --------------------------------------------------------------------------------

    def _take(self) -> tuple[list[T], int, int]:
        """The next batch, with the sequence numbers of its first and last items."""
        batch = [self._pending.popleft() for _ in range(min(self.max_batch, len(self._pending)))]
        first = self._taken + 1
        self._taken += len(batch)
        self._room.set()
        return batch, first, self._taken

    async def _run(self) -> None:
        writes: set[asyncio.Task[None]] = set()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._slots.acquire()  # meanwhile the next batch grows
                self._writing += 1
                write = asyncio.create_task(self._write_in_slot(*self._take()))
                writes.add(write)
                write.add_done_callback(writes.discard)
            if self._stopping and not self._pending:
                if writes:
                    await asyncio.gather(*writes)
                return

    async def _write_in_slot(self, batch: list[T], first: int, last: int) -> None:
        try:
            await self._write(batch, first, last)
        finally:
            self._writing -= 1
            self._slots.release()
            if not self._writing and not self._pending:
                self._idle.set()

    async def _write(self, batch: list[T], first: int, last: int) -> None:
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                written = await self._write_batch(batch)  # not `+=` across the await: batches in flight overlap
                self.written += written
                self.batches += 1
                self._settle(first, last, True)
                return
            except Exception:
                if delay is None:
                    self.lost += len(batch)
                    self._settle(first, last, False)
                    log.exception("%s: gave up on a batch of %d after %d attempts", self.name, len(batch), attempt + 1)
                    return
                log.warning("%s: a batch of %d failed; retrying in %.2f s", self.name, len(batch), delay, exc_info=True)
                await asyncio.sleep(delay)

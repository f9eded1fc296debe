"""A local append-only spool: tracking hits and journey events are durable here before they are answered.

The answer (a pixel, a redirect, a 202) must not wait for the database, which may be slow or down,
and a crash must not lose what was answered. So callers queue their item and wait for the group it
joined to be appended to this worker's spool file and fsynced: one write and one fdatasync per
group, however many requests joined it. Then they answer. Behind them a loader copies the spool
into the database, many items per transaction, and deletes what it has loaded. While the database
is away the loader retries and the spool grows; nothing answered is lost. What the loader offers
twice (after a crash between a commit and the cleanup of the spool) the database stores once:
every item carries an id given when it was answered, under a unique index (ON CONFLICT DO NOTHING).
The loader runs in this event loop, or (`load_in`) in a process of its own (tracking.spool_loader).

On disk, in one directory per stream and database:
- `<worker>.lock`: held with flock(LOCK_EX) for as long as the worker lives;
- `<worker>.<n>.spool`: its segments, oldest first, each a run of records
  `payload length (4 bytes) | crc32 (4 bytes) | msgpack list of items`, then zeros (a segment's
  blocks are allocated when it is created; a zero length ends the records).

A record torn by a crash mid-write was never fsynced, so nobody was answered for it: it is ignored.
A lock file nobody holds belongs to a dead worker: any worker of the same database replays that
worker's segments (at start and every ADOPT_EVERY seconds), then removes them and the lock file.

Written by hand: no library offers a group-committed, fsynced, multi-process spool with replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import logging
import os
import secrets
import struct
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, Literal, TypeVar
from uuid import UUID

import msgspec
from sqlalchemy.engine import make_url

from governance.core.writer import BatchWriter
from tracking.spool_fsync import FsyncHelper, HelperGone, segment_path
from tracking.spool_loader import ADOPT, FLUSH, Counters, LoaderConfig, LoaderGone, LoaderProcess, LoadInProcess

log = logging.getLogger(__name__)
T = TypeVar("T")

HEADER = struct.Struct("<II")  # payload length, crc32 of the payload
ANSWER_WITHIN = 1.0  # seconds a caller waits for its group's fsync before answering anyway (a stalled disk)
SEGMENT_BYTES = 4 << 20  # bounds what a crash makes the next start offer again
ADOPT_EVERY = 30.0  # seconds between looks for segments a dead worker left
RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)  # while the database is away; the last one repeats
LOAD_TIMEOUT = 30.0  # one load that takes longer (a network that drops packets) is abandoned and retried
DRAIN_TIMEOUT = 10.0  # a graceful stop waits this long for the loader; what is left stays on disk
LOAD_EVERY = 0.1  # seconds between two loads of small batches: fewer, larger transactions under load
Load = Callable[[list[T]], Awaitable[int]]


class TimeOrderedIds:
    """Ids for spooled items, UUIDv7-shaped (RFC 9562): milliseconds since the epoch, then this
    process's random tag and a counter. No system call per id (a hot path), unique across processes,
    and in time order, so the unique index they go into grows at its end instead of all over."""

    def __init__(self) -> None:
        self._new_process()
        os.register_at_fork(after_in_child=self._new_process)  # a forked worker must not repeat its parent's ids

    def _new_process(self) -> None:
        self._tag = int.from_bytes(os.urandom(6)) & (1 << 42) - 1
        self._counter = itertools.count()

    def __call__(self) -> UUID:
        milliseconds = time.time_ns() // 1_000_000
        low = self._tag << 32 | next(self._counter) & 0xFFFFFFFF  # 74 bits: 12 in rand_a, 62 in rand_b
        return UUID(int=milliseconds << 80 | 0x7 << 76 | (low >> 62) << 64 | 0b10 << 62 | low & (1 << 62) - 1)


new_id = TimeOrderedIds()


def spool_directory(root: str | Path, database_url: str, stream: str) -> Path:
    """`<root>/<database key>/<stream>`: a spool is only ever replayed into the database it was written for."""
    url = make_url(database_url)
    where = str(Path(url.database or "").resolve()) if url.get_backend_name() == "sqlite" else url.database
    identity = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{where}"
    return Path(root) / hashlib.sha256(identity.encode()).hexdigest()[:16] / stream


def _plain_datetime(value: object) -> str:
    """msgspec encodes datetimes, not their subclasses (freezegun's, in tests): those go as RFC 3339 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise NotImplementedError(f"cannot spool a {type(value).__name__}")


@dataclass(eq=False)
class Segment:
    path: Path
    size: int  # bytes durable so far (this worker's segments) or on disk (a dead worker's)
    sealed: bool  # no byte will be added: rotated away from and every fsync done, or a dead worker's
    owner: str  # the worker that wrote it
    loaded: int = 0  # bytes loaded into the database
    fd: int | None = None  # open for appending (this worker's active segment, or one still syncing)
    written: int = 0  # bytes appended, durable or not yet
    syncing: int = 0  # fsyncs in flight
    directory_synced: bool = False  # its name is durable in the directory

    @property
    def number(self) -> int:
        return int(self.path.name.split(".")[-2])


class Spool(Generic[T]):
    """`await spool.put(item)` returns once the item is durable on local disk; `load` (one
    transaction per call, idempotent) moves items into the database behind the callers."""

    def __init__(
        self,
        name: str,
        directory: Path,
        item_type: type[T],
        load: Load[T],
        *,
        max_group: int = 2000,
        max_load: int = 2000,
        in_flight: int = 4,
        poison: tuple[type[BaseException], ...] = (),
        segment_bytes: int = SEGMENT_BYTES,
        answer_within: float = ANSWER_WITHIN,
        drain_timeout: float = DRAIN_TIMEOUT,
        load_every: float = LOAD_EVERY,
        fsync_in: Literal["helper", "thread"] = "helper",
        load_in: LoadInProcess | None = None,
    ) -> None:
        self.name = name
        self.directory = directory
        self._load = load
        self._poison = poison  # errors that blame the items, not the database: isolate and set aside
        self.max_load = max_load
        self.segment_bytes = segment_bytes
        self.answer_within = answer_within
        self.drain_timeout = drain_timeout
        self.load_every = load_every
        self.fsync_in = fsync_in  # "helper": a process of its own (tracking.spool_fsync); "thread": in this one
        self.load_in = load_in  # None: the loader runs in this event loop; else in a process of its own
        self._encoder = msgspec.msgpack.Encoder(uuid_format="bytes", enc_hook=_plain_datetime)
        self._decoder = msgspec.msgpack.Decoder(list[item_type])  # type: ignore[valid-type]
        # Up to `in_flight` groups fsyncing at once: a group that forms while another one syncs need
        # not wait for that disk flush to end before its own begins.
        self.in_flight = in_flight
        self._front = BatchWriter[T](
            f"{name}-fsync",
            self._append,
            when_full="wait",
            max_pending=200_000,
            max_batch=max_group,
            in_flight=in_flight,
        )
        self._worker = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._segments: deque[Segment] = deque()  # this worker's, oldest first; the last one is written to
        self._adopted: deque[Segment] = deque()  # dead workers', oldest first
        self._owner_locks: dict[str, int] = {}  # dead worker -> its lock file, held while its segments replay
        self._lock_fd: int | None = None
        self._disk: ThreadPoolExecutor | None = None
        self._helper: FsyncHelper | None = None
        self._loader: asyncio.Task[None] | None = None
        self._loader_process: LoaderProcess | None = None
        self._stopping = False
        self._next_adoption = 0.0
        self._data, self._idle, self._hurry = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._last_load = 0.0
        self._behind = False  # the last load took max_load items: more are waiting, load again at once
        self.loads = 0  # successful calls of `load` (transactions)
        self.loaded = 0  # items handed to successful loads
        self.rejected = 0  # items the database refused on their own (poison), set aside in the log
        self.load_failures = 0

    # --- callers ------------------------------------------------------------------------------

    def put(self, item: T) -> Awaitable[bool]:
        """Queue `item`; awaited, returns once its group is fsynced: True then; False if the disk
        did not confirm within `answer_within` seconds (the caller answers anyway). Not a coroutine
        of its own: one frame less on every tracking request."""
        return self._front.put_and_wait(item, within=self.answer_within)

    async def flush(self) -> None:
        """Return once everything put so far is in the database (for tests; bound it with asyncio.timeout)."""
        await self._front.flush()
        if await self._ask_loader_process(FLUSH):
            return
        self._hurry.set()
        self._data.set()
        await self._idle.wait()

    async def replay_dead_workers(self) -> None:
        """Look for dead workers' spools now, not at the next periodic look, and load them."""
        await self._front.flush()
        if await self._ask_loader_process(ADOPT):
            return
        self._next_adoption = 0.0
        self._idle.clear()
        self._data.set()
        await self.flush()

    async def _ask_loader_process(self, question: int) -> bool:
        """FLUSH or ADOPT, answered by the loader process: False when there is none (or no more)."""
        if self._loader_process is None:
            return False
        try:
            self._count(await self._loader_process.ask(question))
        except LoaderGone:
            return False  # it said why in the log; this event loop loads from now on
        return True

    def _count(self, counters: Counters) -> None:
        self.loads, self.loaded, self.rejected, self.load_failures = counters

    @property
    def groups(self) -> int:
        """Groups fsynced so far (each one write and one fdatasync)."""
        return self._front.batches

    @property
    def pending_bytes(self) -> int:
        return sum(s.size - s.loaded for s in (*self._segments, *self._adopted))

    # --- lifespan ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._data, self._idle, self._hurry = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._disk = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix=f"{self.name}-fsync")
        await asyncio.to_thread(self._open)
        if self.fsync_in == "helper":
            self._start_helper()
        await self._front.start()
        self._next_adoption = 0.0  # look for dead workers' segments right away
        if not self._start_loader_process():
            self._start_loading()

    async def stop(self) -> None:
        """Fsync what is queued, load what the database will take within `drain_timeout`, and leave
        the rest on disk (unlocked) for the next worker to replay."""
        await self._front.stop()
        if self._helper is not None:
            await self._helper.stop()
            self._helper = None
        if self._loader_process is not None:
            for segment in self._segments:
                self._seal(segment)  # every group is fsynced: each segment's end is final (announced)
            counters, self._loader_process = await self._loader_process.stop(), None
            if counters is not None:
                self._count(counters)
                self._forget_removed()
            else:
                self._loader_gone("it did not answer the stop")
        await self._stop_loading()
        await asyncio.to_thread(self._close)
        if self._disk is not None:
            self._disk.shutdown()
            self._disk = None
        if self.rejected:
            log.error("%s: %d items were refused by the database and set aside", self.name, self.rejected)

    async def _stop_loading(self) -> None:
        """This event loop's loader, if it runs: load within `drain_timeout`, then end."""
        self._stopping = True
        self._hurry.set()
        self._data.set()
        if self._loader is not None:
            try:
                await asyncio.wait_for(self._loader, self.drain_timeout)
            except TimeoutError:
                log.error("%s: database unavailable; %d bytes stay in %s for the next start", self.name,
                          self.pending_bytes, self.directory)  # fmt: skip
            self._loader = None

    def _start_loading(self) -> None:
        self._loader = asyncio.create_task(self._load_forever(), name=f"{self.name}-loader")

    def _start_loader_process(self) -> bool:
        if self.load_in is None:
            return False
        options = {"max_load": self.max_load, "segment_bytes": self.segment_bytes,
                   "drain_timeout": self.drain_timeout, "load_every": self.load_every}  # fmt: skip
        config = LoaderConfig(self.load_in, self.name, self.directory, self._worker, options)
        process = LoaderProcess(config, self._loader_gone)
        try:
            process.start()
        except Exception:  # whatever stops it, this event loop can load instead
            log.exception("%s: could not start the loader process; loading in the worker", self.name)
            return False
        self._loader_process = process
        return True

    def _loader_gone(self, why: str) -> None:
        """The loader process is gone: load in this event loop from what is still on disk."""
        log.error("%s: the loader process is gone (%s): loading in the worker from now on", self.name, why)
        self._loader_process = None
        self._forget_removed()
        self._next_adoption = 0.0  # what it was replaying for dead workers is anybody's again
        self._start_loading()

    def _forget_removed(self) -> None:
        """Drop the sealed segments the loader process loaded and removed."""
        for segment in [s for s in self._segments if s.sealed and not s.path.exists()]:
            self._segments.remove(segment)

    # --- the loader process's side (tracking.spool_loader) ------------------------------------------

    def begin_loading(self, worker: str) -> None:
        """In a loader process: load what `worker` announces, and what dead workers left."""
        self._worker = worker
        self._stopping = False
        self._data, self._idle, self._hurry = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._next_adoption = 0.0
        self._start_loading()

    def announced(self, number: int, size: int, *, sealed: bool) -> None:
        """In a loader process: the worker's segment `number` is durable up to `size` (and ends there)."""
        segment = next((s for s in self._segments if s.number == number), None)
        if segment is None:
            segment = Segment(segment_path(self.directory, self._worker, number), 0, sealed=False, owner=self._worker)
            self._segments = deque(sorted((*self._segments, segment), key=lambda s: s.number))
        segment.size = max(segment.size, size)
        segment.sealed = segment.sealed or sealed
        self._idle.clear()
        self._data.set()

    async def stop_loading(self) -> None:
        """In a loader process: load within `drain_timeout`, then let go of dead workers' spools."""
        await self._stop_loading()
        await asyncio.to_thread(self._close)

    def _start_helper(self) -> None:
        try:
            self._helper = FsyncHelper(self.directory, self._worker)
            self._helper.start()
        except OSError:
            log.exception("%s: could not start the fsync helper; fsyncing in threads", self.name)
            self._helper = None

    # --- files (run in threads) -------------------------------------------------------------------

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{self._worker}.lock"
        temporary = final.with_suffix(".lock-new")
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, final)  # a visible lock file is always held: nobody adopts a worker being born
        self._lock_fd = fd
        self._segments.append(self._new_segment(1))

    def _new_segment(self, number: int) -> Segment:
        path = segment_path(self.directory, self._worker, number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Its blocks allocated up front: an fdatasync then flushes the records and no size change
        # (ext4 here: 140 against 230 us a group, half the CPU). The rest reads as zeros: the end.
        with contextlib.suppress(OSError):  # a file system that cannot: the writes extend the file
            os.posix_fallocate(fd, 0, self.segment_bytes)
        return Segment(path, 0, sealed=False, owner=self._worker, fd=fd)

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _sync(self, fd: int, directory_too: bool) -> None:
        os.fdatasync(fd)
        if directory_too:  # the first records of a new segment: its name must survive a power cut too
            self._fsync_directory()

    def _seal(self, segment: Segment) -> None:
        """No byte will be added (rotated away from, every fsync done): close it for writing."""
        if segment.fd is not None:
            os.close(segment.fd)
            segment.fd = None
        segment.sealed = True
        self._announce(segment)

    def _announce(self, segment: Segment) -> None:
        if self._loader_process is not None:
            self._loader_process.announce(segment.number, segment.size, sealed=segment.sealed)

    def _close(self) -> None:
        for segment in self._segments:
            self._seal(segment)
        for segment in list(self._segments):
            if segment.loaded >= segment.size:
                segment.path.unlink(missing_ok=True)
                self._segments.remove(segment)
        if not self._segments and self._lock_fd is not None:
            (self.directory / f"{self._worker}.lock").unlink(missing_ok=True)
        for fd in (self._lock_fd, *self._owner_locks.values()):
            if fd is not None:
                os.close(fd)  # releases the locks: what is left is anybody's to replay
        self._lock_fd = None
        self._owner_locks.clear()
        self._adopted.clear()

    def _read(self, segment: Segment) -> tuple[list[T], int, bool]:
        """Items from `segment.loaded` on (max_load or more, unless the segment ends first):
        (items, the offset after them, damaged). A torn last record (a dead worker's write that
        never reached its fsync) ends the segment; a bad record before the end is damage."""
        items: list[T] = []
        offset = segment.loaded
        fd = os.open(segment.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while offset < segment.size and len(items) < self.max_load:
                header = os.pread(fd, HEADER.size, offset)
                length, checksum = HEADER.unpack(header) if len(header) == HEADER.size else (segment.size, 0)
                if length == 0:
                    return items, segment.size, False  # the preallocated rest: nothing was written from here
                end = offset + HEADER.size + length
                if end > segment.size:
                    return items, segment.size, False  # torn tail
                payload = os.pread(fd, length, offset + HEADER.size)
                if zlib.crc32(payload) != checksum:
                    torn = not os.pread(fd, HEADER.size, end).strip(b"\0")  # nothing after it: the last write
                    return (items, segment.size, False) if torn else (items, offset, True)
                items.extend(self._decoder.decode(payload))
                offset = end
        finally:
            os.close(fd)
        return items, offset, False

    def _look_for_dead_workers(self) -> list[tuple[str, int, list[Segment]]]:
        found = []
        for lock in self.directory.glob("*.lock-new"):  # a worker that died being born, before any segment
            with contextlib.suppress(OSError):
                fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    lock.unlink()
                finally:
                    os.close(fd)
        for lock in sorted(self.directory.glob("*.lock")):
            owner = lock.name.removesuffix(".lock")
            if owner == self._worker or owner in self._owner_locks:
                continue
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_ino != lock.stat().st_ino:
                    raise FileNotFoundError(lock)  # another worker replayed it and removed it meanwhile
            except (BlockingIOError, FileNotFoundError):
                os.close(fd)  # alive, or already handled
                continue
            paths = sorted(self.directory.glob(f"{owner}.*.spool"))
            segments = [Segment(p, p.stat().st_size, sealed=True, owner=owner) for p in paths]
            found.append((owner, fd, segments))
        return found

    def _finish(self, segment: Segment) -> None:
        """A fully loaded, sealed segment goes; a dead worker's lock file goes with its last segment."""
        segment.path.unlink(missing_ok=True)
        if segment.owner != self._worker and not any(s.owner == segment.owner for s in self._adopted):
            self._release(segment.owner)

    def _release(self, owner: str) -> None:
        (self.directory / f"{owner}.lock").unlink(missing_ok=True)
        os.close(self._owner_locks.pop(owner))

    def _set_aside(self, segment: Segment) -> None:
        damaged = segment.path.with_suffix(".damaged")
        segment.path.rename(damaged)
        log.error("%s: %s has a damaged record at byte %d; kept as %s", self.name, segment.path.name,
                  segment.loaded, damaged.name)  # fmt: skip

    # --- the group commit (callers' side) ---------------------------------------------------------

    async def _append(self, items: list[T]) -> int:
        """One group: appended to the active segment from the event loop (a write to the page cache,
        in order, no lock needed), then fdatasync'ed in a thread while the loop goes on. When it
        returns, every record written before that fsync began is durable."""
        payload = self._encoder.encode(items)
        record = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        segment = self._segments[-1]
        if segment.written >= self.segment_bytes:
            segment = self._rotate()
        assert segment.fd is not None, "start() opened the active segment"
        start, fd = segment.written, segment.fd
        try:
            written = os.pwrite(fd, record, start)
            while written < len(record):
                written += os.pwrite(fd, record[written:], start + written)
        except OSError:
            os.ftruncate(fd, start)  # never leave a torn record ahead of the next one
            raise
        segment.written = end = start + len(record)
        segment.syncing += 1
        try:
            await self._fsync(segment, fd, directory_too=not segment.directory_synced)
            segment.directory_synced = True
            segment.size = max(segment.size, end)  # before a seal: a sealed segment's size is its end
        finally:
            segment.syncing -= 1
            if segment is not self._segments[-1] and not segment.syncing:
                self._seal(segment)
        self._announce(segment)
        self._idle.clear()
        self._data.set()
        return len(items)

    async def _fsync(self, segment: Segment, fd: int, directory_too: bool) -> None:
        """Every byte appended to `segment` before the call is durable when it returns."""
        if self._helper is not None and self._helper.alive:
            with contextlib.suppress(HelperGone):  # it said why in the log; this group goes by a thread
                await self._helper.sync(segment.number, directory_too)
                return
        await asyncio.get_running_loop().run_in_executor(self._disk, self._sync, fd, directory_too)

    def _rotate(self) -> Segment:
        """A new active segment; the old one is sealed once its fsyncs in flight are done."""
        old = self._segments[-1]
        new = self._new_segment(old.number + 1)
        self._segments.append(new)
        if not old.syncing:
            self._seal(old)
        return new

    # --- the loader -------------------------------------------------------------------------------

    def _next_segment(self) -> Segment | None:
        for segment in (*self._adopted, *self._segments):
            if segment.loaded < segment.size or segment.sealed:
                return segment
        return None

    async def _load_forever(self) -> None:
        while True:
            if time.monotonic() >= self._next_adoption:
                await self._adopt()
            segment = self._next_segment()
            if segment is None:
                if self._stopping:
                    return
                self._idle.set()
                self._hurry.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._data.wait(), max(0.0, self._next_adoption - time.monotonic()))
                self._data.clear()
                continue
            await self._pace()
            try:
                await self._load_from(segment)
            except OSError as error:
                if isinstance(error, FileNotFoundError) and segment.sealed:
                    self._drop(segment)  # loaded and removed meanwhile by another process (a loader that was dying)
                    continue
                # the spool's own files: say so, and try again shortly
                log.exception("%s: could not read %s", self.name, segment.path)
                await asyncio.sleep(1.0)

    async def _pace(self) -> None:
        """At most one load every `load_every` seconds unless asked to hurry (a flush, a stop) or
        behind (the last load was full): under load, one transaction takes what many groups brought
        instead of one transaction each, and the loader still keeps up with more than
        max_load / load_every hits a second."""
        wait = self._last_load + self.load_every - time.monotonic()
        if wait > 0 and not self._hurry.is_set() and not self._behind:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), wait)
        self._last_load = time.monotonic()

    def _drop(self, segment: Segment) -> None:
        for queue in (self._adopted, self._segments):
            with contextlib.suppress(ValueError):
                queue.remove(segment)
        if segment.owner != self._worker and not any(s.owner == segment.owner for s in self._adopted):
            self._release(segment.owner)

    async def _adopt(self) -> None:
        self._next_adoption = time.monotonic() + ADOPT_EVERY
        try:
            found = await asyncio.to_thread(self._look_for_dead_workers)
        except OSError:
            log.exception("%s: could not look for dead workers' spools in %s", self.name, self.directory)
            return
        for owner, fd, segments in found:
            self._owner_locks[owner] = fd
            if not segments:
                await asyncio.to_thread(self._release, owner)
                continue
            log.warning("%s: replaying %d segments a dead worker (%s) left", self.name, len(segments), owner)
            self._adopted.extend(segments)

    async def _load_from(self, segment: Segment) -> None:
        items, offset, damaged = await asyncio.to_thread(self._read, segment)
        self._behind = len(items) >= self.max_load
        if items:
            await self._store(items)
            self.loaded += len(items)
        segment.loaded = offset
        queue = self._adopted if segment.owner != self._worker else self._segments
        if damaged:
            await asyncio.to_thread(self._set_aside, segment)
            segment.loaded = segment.size
        if segment.sealed and segment.loaded >= segment.size:
            queue.remove(segment)
            await asyncio.to_thread(self._finish, segment)  # a damaged one was renamed: only its lock goes

    async def _store(self, items: list[T]) -> None:
        """Load until the database takes the items. A refusal that blames the items (poison) is
        narrowed down by halves, so one bad item never holds up the stream."""
        for attempt in itertools.count():
            try:
                await asyncio.wait_for(self._load(items), LOAD_TIMEOUT)
                self.loads += 1
                return
            except self._poison:
                if len(items) == 1:
                    self.rejected += 1
                    log.exception("%s: the database refused an item; it is set aside", self.name)
                    return
                half = len(items) // 2
                await self._store(items[:half])
                await self._store(items[half:])
                return
            except Exception:
                self.load_failures += 1
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                if attempt == 0 or attempt % 60 == 0:
                    log.warning("%s: the database did not take %d items (attempt %d); retrying, %d bytes spooled",
                                self.name, len(items), attempt + 1, self.pending_bytes, exc_info=True)  # fmt: skip
                await asyncio.sleep(delay)

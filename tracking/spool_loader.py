"""The spool's loader in a process of its own (`MS_SPOOL_LOADER=process`, the default).

Loading costs the worker more than answering does: decoding what was spooled, deciding each hit
(tracking.events.record_hits), the driver's work, and the GIL all of it takes from the event loop
that answers the tracking routes. Measured with bench/bench_tracking_routes.py (one worker, clicks):
about 13 us less event-loop CPU a click with the loader in a process of its own. So each worker's
spool spawns a loader process at start, which runs the spool's own loader (tracking.spool: pacing,
retries, poison isolation, the replay of dead workers' spools) on what the worker announces:

- DURABLE: segment n is durable up to so many bytes (after each group's fsync);
- SEALED: segment n ends at so many bytes (rotated away from, or the worker stops);
- FLUSH, ADOPT: answer once everything announced is loaded (ADOPT: look for dead workers' spools
  first), with the loader's counters;
- STOP (a graceful stop): load what the database takes within the drain timeout, answer, exit.

The loader removes the segments it has loaded. End-of-file without STOP means the worker died: the
loader exits at once, and whoever replays the dead worker's spool (its next start, any worker of
the same database) loads the rest; a hit offered twice is stored once (its id). If the loader
process dies or cannot start, the worker loads in its own event loop from then on and says so.

The load is built in the loader process by a factory named by import path (`module:function`),
called with an argument the worker pickles (the app's Settings): it returns a ProcessLoad.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from tracking.spool_fsync import Messages

log = logging.getLogger(__name__)
T = TypeVar("T")

REQUEST = struct.Struct("<BQQ")  # kind, segment number (or sequence number), size
DURABLE, SEALED, FLUSH, ADOPT, STOP = range(1, 6)
ACK = struct.Struct("<QQQQQ")  # the sequence number answered (0: the last answer, at STOP), then Counters
STOP_MARGIN = 5.0  # seconds a stopping worker waits for its loader beyond the drain timeout


class Counters(NamedTuple):
    loads: int
    loaded: int
    rejected: int
    load_failures: int


@dataclass(frozen=True)
class LoadInProcess:
    """How a spool's loader process builds its load: `factory(argument)`, importable and picklable."""

    factory: str  # "module:function"
    argument: Any


@dataclass(frozen=True)
class ProcessLoad(Generic[T]):
    """What a loader factory returns in the loader process."""

    item_type: type[T]
    load: Callable[[list[T]], Awaitable[int]]
    poison: tuple[type[BaseException], ...] = ()
    close: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class LoaderConfig:
    """Everything the loader process needs, pickled to its standard input."""

    how: LoadInProcess
    name: str
    directory: Path
    worker: str
    options: dict[str, Any] = field(default_factory=dict)  # Spool keyword arguments (max_load, drain_timeout, ...)


class LoaderGone(Exception):
    """The loader process exited or cannot be reached: the worker loads by itself from now on."""


class LoaderProcess:
    """The worker's side: announcements out, answers back, both through pipes the loop watches."""

    def __init__(self, config: LoaderConfig, on_gone: Callable[[str], None]) -> None:
        self.config = config
        self._on_gone = on_gone
        self._process: subprocess.Popen[bytes] | None = None
        self._exited: subprocess.Popen[bytes] | None = None  # one that died, reaped at stop
        self._stopping = False
        self._requests = self._acks = -1
        self._unsent: dict[int, tuple[int, int]] = {}  # segment -> (DURABLE or SEALED, size): the latest wins
        self._controls: list[bytes] = []  # FLUSH, ADOPT, STOP, in order, after the announcements before them
        self._outbox = b""
        self._writing = False  # a writer callback waits for room in the pipe
        self._sequence = 0
        self._answers: dict[int, asyncio.Future[Counters]] = {}
        self._last: asyncio.Future[Counters | None] | None = None
        self._ack_messages: Messages | None = None

    def start(self) -> None:
        request_out, self._requests = os.pipe()
        self._acks, ack_in = os.pipe()
        try:
            self._process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
                [sys.executable, "-m", "tracking.spool_loader", str(request_out), str(ack_in)],
                pass_fds=(request_out, ack_in),
                stdin=subprocess.PIPE,
            )
            assert self._process.stdin is not None
            with self._process.stdin as config:
                config.write(pickle.dumps(self.config))
        except (OSError, pickle.PicklingError):
            if self._process is not None:
                self._process.kill()
                self._process.wait()
                self._process = None
            self._close_pipes()
            raise
        finally:
            os.close(request_out)  # the loader's ends: only it may hold them, or its end-of-file never comes
            os.close(ack_in)
        os.set_blocking(self._requests, False)
        os.set_blocking(self._acks, False)
        self._ack_messages = Messages(self._acks, ACK)
        self._last = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_reader(self._acks, self._read_acks)

    def announce(self, segment_number: int, size: int, *, sealed: bool) -> None:
        kind, _ = self._unsent.get(segment_number, (DURABLE, 0))
        self._unsent[segment_number] = (SEALED if sealed else kind, size)
        self._send()

    async def ask(self, kind: int) -> Counters:
        """FLUSH or ADOPT: the loader's counters once everything announced so far is loaded."""
        if self._process is None:
            raise LoaderGone("the loader process is not running")
        self._sequence += 1
        answer: asyncio.Future[Counters] = asyncio.get_running_loop().create_future()
        self._answers[self._sequence] = answer
        self._controls.append(REQUEST.pack(kind, self._sequence, 0))
        self._send()
        return await answer

    async def stop(self) -> Counters | None:
        """STOP: the loader drains within its drain timeout and exits; its last counters (None if it died)."""
        self._stopping = True
        process, last, counters = self._process, self._last, None
        if process is not None and last is not None:
            self._controls.append(REQUEST.pack(STOP, 0, 0))
            self._send()
            with contextlib.suppress(TimeoutError, LoaderGone):
                counters = await asyncio.wait_for(last, self.config.options.get("drain_timeout", 10.0) + STOP_MARGIN)
        process, self._process = process or self._exited, None
        self._forget()
        if process is None:
            return counters
        try:
            await asyncio.to_thread(process.wait, STOP_MARGIN)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        return counters

    # --- pipes ---------------------------------------------------------------------------------

    def _send(self) -> None:
        """Write what is waiting; when the pipe is full, a writer callback goes on once it has room
        (meanwhile announcements of a segment replace each other: the pipe's backlog stays bounded)."""
        if self._process is None or self._writing:
            return
        try:
            while self._outbox or self._unsent or self._controls:
                if not self._outbox:
                    announced = (REQUEST.pack(kind, number, size) for number, (kind, size) in self._unsent.items())
                    self._outbox = b"".join((*announced, *self._controls))
                    self._unsent.clear()
                    self._controls.clear()
                self._outbox = self._outbox[os.write(self._requests, self._outbox) :]
        except BlockingIOError:
            self._writing = True
            asyncio.get_running_loop().add_writer(self._requests, self._room)
        except OSError as error:
            self._gone(f"cannot reach it ({error})")

    def _room(self) -> None:
        asyncio.get_running_loop().remove_writer(self._requests)
        self._writing = False
        self._send()

    def _read_acks(self) -> None:
        assert self._ack_messages is not None, "start() set it up"
        for sequence, *counters in self._ack_messages.received(self._gone):
            answer = self._last if sequence == 0 else self._answers.pop(sequence, None)
            if answer is not None and not answer.done():
                answer.set_result(Counters(*counters))

    def _gone(self, why: str) -> None:
        """Fail every question still unanswered, stop using the process, tell the spool (unless stopping)."""
        if self._process is None:
            return
        self._exited, self._process = self._process, None
        self._forget(LoaderGone(f"the loader process is gone: {why}"))
        with contextlib.suppress(ProcessLookupError):
            self._exited.kill()
        asyncio.get_running_loop().run_in_executor(None, self._exited.wait)  # reaped, not waited for here
        if not self._stopping:
            self._on_gone(why)

    def _forget(self, error: Exception | None = None) -> None:
        loop = asyncio.get_running_loop()
        if self._acks >= 0:
            loop.remove_reader(self._acks)
        if self._writing:
            loop.remove_writer(self._requests)
            self._writing = False
        for answer in (*self._answers.values(), self._last):
            if answer is not None and not answer.done():
                answer.set_exception(error or LoaderGone("stopped"))
                answer.exception()  # retrieved: nobody may be waiting for it
        self._answers.clear()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for fd in (self._requests, self._acks):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._requests = self._acks = -1


# --- the loader process ---------------------------------------------------------------------------


def _factory(path: str) -> Callable[[Any], ProcessLoad[Any]]:
    module, _, name = path.partition(":")
    factory: Callable[[Any], ProcessLoad[Any]] = getattr(importlib.import_module(module), name)
    return factory


async def serve(requests: int, acks: int, config: LoaderConfig) -> None:
    from tracking.spool import Spool  # here, not above: tracking.spool imports this module

    built = _factory(config.how.factory)(config.how.argument)
    spool = Spool(config.name, config.directory, built.item_type, built.load, poison=built.poison, **config.options)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bool] = loop.create_future()  # True: STOP came; False: the worker is gone
    answering: set[asyncio.Task[None]] = set()
    messages = Messages(requests, REQUEST)

    def counters() -> tuple[int, int, int, int]:
        return spool.loads, spool.loaded, spool.rejected, spool.load_failures

    async def answer(sequence: int, adopt: bool) -> None:
        await (spool.replay_dead_workers() if adopt else spool.flush())
        os.write(acks, ACK.pack(sequence, *counters()))

    def worker_gone(_why: str) -> None:
        if not done.done():
            done.set_result(False)

    def read() -> None:
        for kind, number, size in messages.received(worker_gone):
            if kind in (DURABLE, SEALED):
                spool.announced(number, size, sealed=kind == SEALED)
            elif kind in (FLUSH, ADOPT):
                task = asyncio.create_task(answer(number, adopt=kind == ADOPT))
                answering.add(task)
                task.add_done_callback(answering.discard)
            elif kind == STOP and not done.done():
                done.set_result(True)

    spool.begin_loading(config.worker)
    loop.add_reader(requests, read)
    try:
        if await done:
            await spool.stop_loading()
            os.write(acks, ACK.pack(0, *counters()))
    finally:
        loop.remove_reader(requests)
        if built.close is not None:
            await built.close()


def main(argv: list[str]) -> int:
    # A Ctrl-C or a SIGTERM to the process group is for the worker, which stops its loader with STOP
    # once it has drained its own queue; the loader ends then, or when the worker dies.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s - %(name)s - %(message)s")
    requests, acks = int(argv[0]), int(argv[1])
    config: LoaderConfig = pickle.load(sys.stdin.buffer)  # noqa: S301 (our own worker wrote it)
    os.set_blocking(requests, False)
    with contextlib.suppress(BrokenPipeError):  # the worker is gone
        asyncio.run(serve(requests, acks, config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

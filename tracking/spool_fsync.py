"""The spool's fsyncs, done by a helper process of the worker's own.

An fdatasync in a thread costs the event loop more than the disk does. The thread must take the
GIL back to report, and under load it waits for the loop's switch interval to pass each time, so
every answer waits with it. Measured with four fsync threads (bench/bench_tracking_routes.py, one
worker): about 4,300 pixels a second, against 6,500 to 7,000 with this helper.

The helper shares no GIL with the worker:
- after appending a group to a segment, the loop writes a 16-byte request into a pipe;
- the helper fsyncs each segment named by the requests it found waiting, once for all of them;
- it writes back the last sequence number those fsyncs covered, which the loop reads with a reader
  callback.

fdatasync flushes a file's dirty pages whoever wrote them, so the helper's own read-only descriptor
of the segment is enough.

If the helper dies, the spool fsyncs in threads from then on and says so in the log. If the
worker dies, the helper reads end-of-file and exits.

This file is also the helper's program (`python -I spool_fsync.py ...`): standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

REQUEST = struct.Struct("<QII")  # sequence number, segment number, flags
ACK = struct.Struct("<Q")  # the last sequence number now durable
DIRECTORY = 1  # flag: the segment is new, fsync the directory too (its name must survive a power cut)
log = logging.getLogger(__name__)
STOP_WITHIN = 5.0  # seconds a stopping worker waits for its helper to exit


def segment_path(directory: Path, worker: str, number: int) -> Path:
    return directory / f"{worker}.{number:08d}.spool"


class Messages:
    """Fixed-size messages from a pipe, whole ones only (a read may end mid-message)."""

    def __init__(self, fd: int, shape: struct.Struct) -> None:
        self.fd, self.shape = fd, shape
        self._unread = b""

    def read(self) -> list[tuple[int, ...]] | None:
        """The whole messages that have come ([] if none yet on a non-blocking pipe); None at
        end-of-file (the other end is closed: its process exited). OSError: the pipe failed."""
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        if not data:
            return None
        data = self._unread + data
        whole = len(data) // self.shape.size * self.shape.size
        self._unread = data[whole:]
        return [self.shape.unpack_from(data, offset) for offset in range(0, whole, self.shape.size)]

    def received(self, gone: Callable[[str], None]) -> list[tuple[int, ...]]:
        """What `read` returns, a failed or closed pipe told to `gone` (with why) instead."""
        try:
            messages = self.read()
        except OSError as error:
            gone(f"its pipe failed ({error})")
            return []
        if messages is None:
            gone("it exited")
            return []
        return messages


class HelperGone(Exception):
    """The helper exited or cannot be reached: whatever it did not confirm must be fsynced another way."""


class FsyncHelper:
    """The worker's side: `await helper.sync(segment, directory_too)` returns once that segment's
    bytes written so far are durable."""

    def __init__(self, directory: Path, worker: str) -> None:
        self.directory = directory
        self.worker = worker
        self._process: subprocess.Popen[bytes] | None = None
        self._exited: subprocess.Popen[bytes] | None = None  # a helper given up on, reaped at stop
        self._requests = self._acks = -1
        self._sequence = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()  # in sequence order
        self._ack_messages: Messages | None = None

    def start(self) -> None:
        """Spawn the helper; requests sent before it is up wait in the pipe."""
        request_out, self._requests = os.pipe()
        self._acks, ack_in = os.pipe()
        try:
            self._process = subprocess.Popen(  # noqa: S603 (this interpreter, this file, our own arguments)
                [sys.executable, "-I", __file__, str(request_out), str(ack_in), str(self.directory), self.worker],
                pass_fds=(request_out, ack_in),
                stdin=subprocess.DEVNULL,
            )
        except OSError:
            os.close(self._requests)
            os.close(self._acks)
            raise
        finally:
            os.close(request_out)  # the helper's ends: only it may hold them, or its end-of-file never comes
            os.close(ack_in)
        os.set_blocking(self._requests, False)  # at most `in_flight` requests are ever outstanding
        os.set_blocking(self._acks, False)
        self._ack_messages = Messages(self._acks, ACK)
        asyncio.get_running_loop().add_reader(self._acks, self._read_acks)

    @property
    def alive(self) -> bool:
        return self._process is not None

    async def sync(self, segment_number: int, directory_too: bool) -> None:
        if self._process is None:
            raise HelperGone("the fsync helper is not running")
        self._sequence += 1
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((self._sequence, done))
        try:
            os.write(self._requests, REQUEST.pack(self._sequence, segment_number, DIRECTORY if directory_too else 0))
        except OSError as error:
            self._gone(f"cannot reach it ({error})")
        await done

    def _read_acks(self) -> None:
        assert self._ack_messages is not None, "start() set it up"
        acks = self._ack_messages.received(self._gone)
        if not acks:
            return
        (durable,) = acks[-1]
        while self._waiting and self._waiting[0][0] <= durable:
            _, done = self._waiting.popleft()
            if not done.done():
                done.set_result(None)

    def _gone(self, why: str) -> None:
        """Fail every unconfirmed sync with HelperGone and stop using the helper."""
        if self._process is None:
            return
        log.error("the spool's fsync helper for %s is gone (%s): fsyncing in threads from now on", self.worker, why)
        asyncio.get_running_loop().remove_reader(self._acks)
        for _, done in self._waiting:
            if not done.done():
                done.set_exception(HelperGone(f"the fsync helper is gone: {why}"))
        self._waiting.clear()
        self._close_pipes()
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        self._exited, self._process = self._process, None

    def _close_pipes(self) -> None:
        for fd in (self._requests, self._acks):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._requests = self._acks = -1

    async def stop(self) -> None:
        """Close the request pipe (the helper answers what it has read, then exits) and reap it."""
        process, self._process = self._process or self._exited, None
        if process is None:
            return
        if self._acks >= 0:
            asyncio.get_running_loop().remove_reader(self._acks)
        self._close_pipes()
        try:
            await asyncio.to_thread(process.wait, STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


# --- the helper process ---------------------------------------------------------------------------


def serve(requests: int, acks: int, directory: Path, worker: str) -> None:
    """Until end-of-file: read what requests are waiting, fsync each segment they name once, ack the last."""
    segments: dict[int, int] = {}  # segment number -> descriptor
    messages = Messages(requests, REQUEST)
    while (batch := messages.read()) is not None:
        if not batch:
            continue
        for number in sorted({number for _, number, _ in batch}):
            if number not in segments:
                path = segment_path(directory, worker, number)
                segments[number] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            os.fdatasync(segments[number])
        if any(flags & DIRECTORY for _, _, flags in batch):
            fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        newest = max(segments)
        for number in [n for n in segments if n < newest]:  # rotated away from: no request will name it again
            os.close(segments.pop(number))
        os.write(acks, ACK.pack(batch[-1][0]))  # requests come in sequence order


def main(argv: list[str]) -> int:
    # A Ctrl-C or a SIGTERM to the process group is for the worker, which still needs its last fsyncs
    # while it drains; the helper ends when the worker closes the pipe (or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    requests, acks, directory, worker = int(argv[0]), int(argv[1]), Path(argv[2]), argv[3]
    try:
        serve(requests, acks, directory, worker)
    except BrokenPipeError:  # the worker is gone
        return 0
    except OSError as error:  # a failed fsync: the worker sees end-of-file and fsyncs by itself
        sys.stderr.write(f"spool fsync helper for {worker}: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

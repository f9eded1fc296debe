"""The spool: durable before the answer, loaded behind it, replayed after a crash, stored once."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from tracking import spool as spool_module
from tracking.spool import HEADER, Spool, spool_directory

ROOT = Path(__file__).resolve().parents[3]


class Item(NamedTuple):
    item_id: uuid.UUID
    n: int


class Refused(Exception):
    """What a database says about one bad row."""


class Store:
    """A stand-in database: keeps items by id (a replay stores nothing twice), can be taken down."""

    def __init__(self, refuse: set[int] = frozenset()) -> None:
        self.rows: dict[uuid.UUID, int] = {}
        self.offered = 0
        self.up = True
        self.refuse = refuse

    async def load(self, items: list[Item]) -> int:
        if not self.up:
            raise ConnectionRefusedError("the database is down")
        if any(item.n in self.refuse for item in items):
            raise Refused("value too long")
        self.offered += len(items)
        for item in items:
            self.rows.setdefault(item.item_id, item.n)
        return len(items)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(spool_module, "RETRY_DELAYS", (0.01, 0.05))


def make(directory: Path, store: Store, **options) -> Spool[Item]:
    return Spool("test", directory, Item, store.load, poison=(Refused,), **options)


def items(count: int, start: int = 0) -> list[Item]:
    return [Item(uuid.uuid4(), n) for n in range(start, start + count)]


def spool_files(directory: Path) -> list[str]:
    return sorted(p.name.split(".", 1)[1] for p in directory.iterdir())


def test_each_caller_returns_once_its_group_is_on_disk_and_many_callers_share_one_fsync(tmp_path):
    store = Store()

    async def run() -> tuple[list[bool], int, bytes]:
        spool = make(tmp_path, store)
        await spool.start()
        store.up = False  # nothing reaches the database: what is on disk is the spool's doing
        answered = await asyncio.gather(*(spool.put(item) for item in items(500)))
        [segment] = tmp_path.glob("*.spool")
        on_disk = segment.read_bytes()
        store.up = True
        async with asyncio.timeout(30):
            await spool.flush()
        groups = spool.groups
        await spool.stop()
        return answered, groups, on_disk

    answered, groups, on_disk = asyncio.run(run())

    assert answered == [True] * 500
    assert 1 <= groups <= 5  # 500 callers, a handful of writes
    length, _ = HEADER.unpack(on_disk[: HEADER.size])
    assert len(on_disk) >= HEADER.size + length  # the first group was whole on disk before anyone returned
    assert sorted(store.rows.values()) == list(range(500))
    assert spool_files(tmp_path) == []  # loaded: the segment and the lock file are gone


def test_the_database_being_down_never_holds_up_a_caller_and_nothing_is_lost_when_it_returns(tmp_path):
    store = Store()
    store.up = False

    async def run() -> tuple[float, int]:
        spool = make(tmp_path, store)
        await spool.start()
        started = time.monotonic()
        for batch in range(5):
            assert all(await asyncio.gather(*(spool.put(item) for item in items(100, 100 * batch))))
        waited = time.monotonic() - started
        await asyncio.sleep(0.3)  # the loader is retrying meanwhile
        rows_while_down = len(store.rows)
        store.up = True
        async with asyncio.timeout(30):
            await spool.flush()
        await spool.stop()
        return waited, rows_while_down

    waited, rows_while_down = asyncio.run(run())

    assert waited < 5 and rows_while_down == 0
    assert sorted(store.rows.values()) == list(range(500))


def test_a_loader_behind_loads_again_at_once_instead_of_waiting_for_its_pace(tmp_path):
    store = Store()

    async def run() -> tuple[int, int]:
        spool = make(tmp_path, store, max_load=10, load_every=30.0)  # one load every 30 s, unless behind
        await spool.start()
        for batch in range(20):  # 20 groups, 20 records of 10
            assert all(await asyncio.gather(*(spool.put(item) for item in items(10, 10 * batch))))
        loaded_soon = 0
        for _ in range(100):  # no flush: a flush hurries the loader; this waits as a worker under load would
            await asyncio.sleep(0.05)
            loaded_soon = len(store.rows)
            if loaded_soon == 200:
                break
        await spool.stop()
        return loaded_soon, spool.loads

    loaded_soon, loads = asyncio.run(run())

    assert loaded_soon == 200  # within 5 s, where 20 paced loads would take 10 minutes
    assert loads == 20  # one record of max_load items each


def test_what_a_stop_could_not_load_is_replayed_by_the_next_worker_once(tmp_path):
    store = Store()

    async def first_worker() -> None:
        spool = make(tmp_path, store, drain_timeout=0.5)
        await spool.start()
        await asyncio.gather(*(spool.put(item) for item in items(50)))
        async with asyncio.timeout(30):
            await spool.flush()
        store.up = False
        await asyncio.gather(*(spool.put(item) for item in items(70, 50)))
        await spool.stop()  # the database is down: 70 stay on disk, unlocked

    async def next_worker() -> None:
        spool = make(tmp_path, store)
        await spool.start()  # finds the dead worker's lock unheld and replays its segment
        async with asyncio.timeout(30):
            await spool.flush()
        await spool.stop()

    asyncio.run(first_worker())
    left_behind = spool_files(tmp_path)
    store.up = True
    asyncio.run(next_worker())

    assert left_behind == ["00000001.spool", "lock"]
    assert sorted(store.rows.values()) == list(range(120))
    assert spool_files(tmp_path) == []


async def answer_until_killed(spool: Spool[Item]) -> None:
    """In a worker process: 64 callers at a time, like a loaded server, each answered item printed."""

    async def caller(first: int) -> None:
        for n in range(first, 100_000, 64):
            if await spool.put(Item(uuid.uuid4(), n)):
                print(n, flush=True)

    await asyncio.gather(*(caller(first) for first in range(64)))


CHILD = """
import asyncio, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.unit.tracking.test_spool import Item, answer_until_killed
from tracking.spool import Spool

async def never(items):
    await asyncio.sleep(3600)  # the database never answers: everything stays in the spool

async def main():
    spool = Spool("child", Path({directory!r}), Item, never)
    await spool.start()
    await answer_until_killed(spool)

asyncio.run(main())
"""


def test_a_worker_killed_with_sigkill_loses_none_of_what_it_answered(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), directory=str(tmp_path))],
        stdout=subprocess.PIPE,
        text=True,
    )
    answered = []
    for line in child.stdout:  # bounded: the child answers 100,000 items at most
        answered.append(int(line))
        if len(answered) == 2_000:
            break
    os.kill(child.pid, signal.SIGKILL)  # mid-load, between any two writes
    child.wait(timeout=30)
    answered += [int(line) for line in child.stdout.read().split()]  # answers already printed
    store = Store()

    async def adopt() -> None:
        spool = make(tmp_path, store)
        await spool.start()
        async with asyncio.timeout(60):
            await spool.flush()
        await spool.stop()

    asyncio.run(adopt())

    assert len(answered) >= 2_000
    assert set(answered) <= set(store.rows.values())  # every answered item made it
    assert len(store.rows) == len(set(store.rows.values()))  # and none twice
    assert not list(tmp_path.glob("*.spool"))


def dead_worker_segment(directory: Path, records: list[bytes]) -> Path:
    """What a dead worker leaves: an unheld lock file and a segment of raw records."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "123-dead.lock").touch()
    segment = directory / "123-dead.00000001.spool"
    segment.write_bytes(b"".join(records))
    return segment


def record(batch: list[Item]) -> bytes:
    import zlib

    import msgspec

    payload = msgspec.msgpack.Encoder(uuid_format="bytes").encode(batch)
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def replay(directory: Path, store: Store) -> Spool[Item]:
    async def run() -> Spool[Item]:
        spool = make(directory, store)
        await spool.start()
        async with asyncio.timeout(30):
            await spool.flush()
        await spool.stop()
        return spool

    return asyncio.run(run())


ALLOCATED_REST = bytes(4096)  # a segment's blocks are allocated when it is created: zeros after the records


def test_a_segment_is_allocated_when_it_is_created_and_its_records_start_it(tmp_path):
    async def one_item() -> tuple[int, bytes]:
        spool = make(tmp_path, Store(), segment_bytes=1 << 20)
        await spool.start()
        await spool.put(Item(uuid.uuid4(), 1))
        segment = next(tmp_path.glob("*.spool"))
        size, start = segment.stat().st_size, segment.read_bytes()[: len(record([Item(uuid.uuid4(), 1)]))]
        await spool.stop()
        return size, start

    size, start = asyncio.run(one_item())

    assert size == 1 << 20
    assert HEADER.unpack(start[: HEADER.size])[0] == len(start) - HEADER.size


def test_the_allocated_rest_of_a_dead_workers_segment_ends_its_records(tmp_path):
    dead_worker_segment(tmp_path, [record(items(3)), record(items(2, 3)), ALLOCATED_REST])
    store = Store()

    replay(tmp_path, store)

    assert sorted(store.rows.values()) == [0, 1, 2, 3, 4]
    assert spool_files(tmp_path) == []  # read to its end, not set aside


@pytest.mark.parametrize("after", [b"", ALLOCATED_REST], ids=["at the end of the file", "before the allocated rest"])
def test_a_torn_last_record_is_ignored_and_the_records_before_it_are_loaded(tmp_path, after):
    whole, torn = record(items(3)), record(items(2, 3))
    dead_worker_segment(tmp_path, [whole, torn[: len(torn) - 5], after])
    store = Store()

    replay(tmp_path, store)

    assert sorted(store.rows.values()) == [0, 1, 2]
    assert spool_files(tmp_path) == []


def test_a_damaged_record_is_set_aside_after_loading_what_came_before(tmp_path):
    good, bad, after = record(items(2)), bytearray(record(items(2, 2))), record(items(2, 4))
    bad[-1] ^= 0xFF  # a flipped bit inside a record that is not the last
    dead_worker_segment(tmp_path, [good, bytes(bad), after])
    store = Store()

    replay(tmp_path, store)

    assert sorted(store.rows.values()) == [0, 1]
    assert spool_files(tmp_path) == ["00000001.damaged"]  # kept for a person to look at, never replayed


def test_an_item_the_database_refuses_is_set_aside_and_the_others_are_loaded(tmp_path):
    dead_worker_segment(tmp_path, [record(items(40))])
    store = Store(refuse={17})

    spool = replay(tmp_path, store)

    assert sorted(store.rows.values()) == [n for n in range(40) if n != 17]
    assert spool.rejected == 1


def test_a_live_workers_spool_is_never_replayed_by_another(tmp_path):
    store = Store()
    store.up = False

    async def run() -> tuple[int, int]:
        alive, other = make(tmp_path, store, drain_timeout=0.1), make(tmp_path, Store())
        await alive.start()
        await other.start()
        await asyncio.gather(*(alive.put(item) for item in items(10)))
        async with asyncio.timeout(10):
            await other.replay_dead_workers()
            taken_while_alive = other.loaded
            await alive.stop()  # the database is down: it leaves its 10 items, unlocked
            await other.replay_dead_workers()
        await other.stop()
        return taken_while_alive, other.loaded

    taken_while_alive, replayed = asyncio.run(run())

    assert taken_while_alive == 0 and replayed == 10


def stall_the_fsyncs(spool: Spool[Item], monkeypatch) -> Callable[[], None]:
    """Make the spool's fsyncs hang, as a stalled disk would; returns what ends the stall."""
    if spool.fsync_in == "helper":
        helper = spool._helper._process
        os.kill(helper.pid, signal.SIGSTOP)
        return lambda: os.kill(helper.pid, signal.SIGCONT)
    stalled = threading.Event()
    sync = Spool._sync

    def hanging(self, fd, directory_too):
        stalled.wait(30)
        sync(self, fd, directory_too)

    monkeypatch.setattr(Spool, "_sync", hanging)
    return stalled.set


@pytest.mark.parametrize("fsync_in", ["helper", "thread"])
def test_a_stalled_disk_does_not_hold_a_caller_past_the_bound_and_the_item_is_still_written(
    tmp_path, monkeypatch, fsync_in
):
    store = Store()

    async def run() -> tuple[bool, float]:
        spool = make(tmp_path, store, answer_within=0.1, fsync_in=fsync_in)
        await spool.start()
        resume = stall_the_fsyncs(spool, monkeypatch)
        started = time.monotonic()
        confirmed = await spool.put(Item(uuid.uuid4(), 1))
        waited = time.monotonic() - started
        resume()
        async with asyncio.timeout(30):
            await spool.flush()
        await spool.stop()
        return confirmed, waited

    confirmed, waited = asyncio.run(run())

    assert confirmed is False and waited < 0.4
    assert list(store.rows.values()) == [1]


def test_the_fsyncs_are_a_helper_processs_and_each_caller_still_waits_for_its_own(tmp_path):
    store = Store()

    async def run() -> tuple[list[bool], int, int]:
        spool = make(tmp_path, store)
        await spool.start()
        helper = spool._helper._process
        resume = stall_the_fsyncs(spool, None)
        callers = [asyncio.create_task(spool.put(item)) for item in items(50)]
        await asyncio.sleep(0.3)
        waiting = sum(not caller.done() for caller in callers)  # written to the page cache, not yet durable
        resume()
        answered = await asyncio.gather(*callers)
        await spool.stop()
        return answered, waiting, helper.wait(timeout=10)

    answered, waiting, exit_code = asyncio.run(run())

    assert waiting == 50 and answered == [True] * 50
    assert exit_code == 0  # it exits once the worker closes its pipe
    assert sorted(store.rows.values()) == list(range(50))


def test_when_the_helper_dies_the_spool_fsyncs_in_threads_and_confirms_every_item(tmp_path, caplog):
    store = Store()

    async def run() -> list[bool]:
        spool = make(tmp_path, store)
        await spool.start()
        first = await asyncio.gather(*(spool.put(item) for item in items(100)))
        os.kill(spool._helper._process.pid, signal.SIGKILL)
        rest = []
        for batch in range(10):  # some of these were waiting on the helper when it died
            rest += await asyncio.gather(*(spool.put(item) for item in items(100, 100 * (batch + 1))))
            await asyncio.sleep(0.01)
        async with asyncio.timeout(30):
            await spool.flush()
        await spool.stop()
        return first + rest

    answered = asyncio.run(run())

    assert answered == [True] * 1100
    assert sorted(store.rows.values()) == list(range(1100))
    assert "fsync helper" in caplog.text and "gone" in caplog.text


def test_the_helper_exits_when_its_worker_is_killed(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", HELPER_CHILD.format(root=str(ROOT), directory=str(tmp_path))],
        stdout=subprocess.PIPE,
        text=True,
    )
    helper_pid = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    for _ in range(100):  # bounded: 10 s
        if not process_exists(helper_pid):
            break
        time.sleep(0.1)
    assert not process_exists(helper_pid)


HELPER_CHILD = """
import asyncio, sys, uuid
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.unit.tracking.test_spool import Item, Store, make

async def main():
    spool = make(Path({directory!r}), Store())
    await spool.start()
    await spool.put(Item(uuid.uuid4(), 1))
    print(spool._helper._process.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def process_exists(pid: int) -> bool:
    """Alive and not a zombie (the helper is not this test's child: once it exits, init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_segments_rotate_and_each_goes_once_loaded(tmp_path):
    store = Store()

    async def run() -> list[str]:
        spool = make(tmp_path, store, segment_bytes=2_000)
        await spool.start()
        for n in range(20):
            await asyncio.gather(*(spool.put(item) for item in items(10, 10 * n)))
        async with asyncio.timeout(30):
            await spool.flush()
        names = spool_files(tmp_path)
        await spool.stop()
        return names

    while_running = asyncio.run(run())

    assert sorted(store.rows.values()) == list(range(200))
    assert while_running[1] == "lock" and while_running[0] not in ("00000001.spool", "lock")  # rotated, old ones gone
    assert spool_files(tmp_path) == []


def test_each_database_has_a_spool_directory_of_its_own(tmp_path):
    first = spool_directory(tmp_path, "sqlite+aiosqlite:///var/a.db", "hits")
    second = spool_directory(tmp_path, "sqlite+aiosqlite:///var/b.db", "hits")
    same_server = spool_directory(tmp_path, "postgresql+asyncpg://app:secret@db:5432/governance", "hits")
    other_password = spool_directory(tmp_path, "postgresql+asyncpg://app:rotated@db:5432/governance", "hits")

    assert first != second and first.parent.parent == tmp_path and first.name == "hits"
    assert same_server == other_password  # a rotated password does not orphan a spool


@pytest.mark.parametrize("stream", ["tracking-hits", "journey-events"])
def test_stream_names_are_plain_directory_names(tmp_path, stream):
    assert spool_directory(tmp_path, "sqlite+aiosqlite:///x.db", stream).name == stream

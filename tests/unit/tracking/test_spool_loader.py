"""The spool's loader in a process of its own: it loads what the worker fsyncs, removes what it has
loaded, drains at a graceful stop, and when it is gone the worker loads by itself, losing nothing."""

import asyncio
import fcntl
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.tracking.test_spool import ROOT, Item, items, process_exists, spool_files
from tracking import spool as spool_module
from tracking.spool import Spool
from tracking.spool_loader import LoadInProcess, ProcessLoad

# --- the load, as the loader process builds it: a SQLite file of items, down while a marker exists ---


def load_into(database: str) -> ProcessLoad[Item]:
    """A loader factory (tracking.spool_loader imports it by name, in the loader process)."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=30)
    connection.execute("CREATE TABLE IF NOT EXISTS items (item_id BLOB PRIMARY KEY, n INTEGER)")
    down = Path(f"{database}.down")

    async def load(batch: list[Item]) -> int:
        if down.exists():  # noqa: ASYNC240 (a stand-in database: one stat per load)
            raise ConnectionRefusedError("the database is down")
        with connection:
            connection.executemany("INSERT OR IGNORE INTO items VALUES (?, ?)", [(i.item_id.bytes, i.n) for i in batch])
        return len(batch)

    async def close() -> None:
        connection.close()

    return ProcessLoad(Item, load, (), close)


def load_into_after_a_pause(database: str) -> ProcessLoad[Item]:
    """The same, from a loader process that takes a while to start (it reads no announcement meanwhile)."""
    time.sleep(1.5)
    return load_into(database)


class Database:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "items.db"
        self.down = Path(f"{self.path}.down")

    def numbers(self) -> list[int]:
        if not self.path.exists():
            return []
        with sqlite3.connect(self.path) as connection:
            return sorted(n for (n,) in connection.execute("SELECT n FROM items"))


@pytest.fixture
def database(tmp_path) -> Database:
    return Database(tmp_path)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(spool_module, "RETRY_DELAYS", (0.01, 0.05))


def in_process(directory: Path, database: Database, factory: str = f"{__name__}:load_into", **options) -> Spool[Item]:
    async def never(batch: list[Item]) -> int:
        raise AssertionError("the worker loads nothing while its loader process runs")

    return Spool("test", directory, Item, options.pop("load", never),
                 load_in=LoadInProcess(factory, str(database.path)), **options)  # fmt: skip


async def flushed(spool: Spool[Item]) -> None:
    async with asyncio.timeout(60):
        await spool.flush()


# --- tests -------------------------------------------------------------------------------------------


def test_the_loader_process_loads_what_the_worker_fsyncs_and_a_stop_leaves_nothing_behind(tmp_path, database):
    spool_dir = tmp_path / "spool"

    async def run() -> tuple[int, int, list[str], bool]:
        spool = in_process(spool_dir, database, segment_bytes=2_000)  # many segments: rotation and seals
        await spool.start()
        for n in range(20):
            assert all(await asyncio.gather(*(spool.put(item) for item in items(10, 10 * n))))
        await flushed(spool)
        loader_pid = spool._loader_process._process.pid
        files = spool_files(spool_dir)
        await spool.stop()
        return loader_pid, spool.loaded, files, spool._loader is None

    loader_pid, loaded, while_running, worker_never_loaded = asyncio.run(run())

    assert loader_pid != os.getpid() and worker_never_loaded
    assert database.numbers() == list(range(200)) and loaded == 200  # the counters come back with each answer
    assert while_running[-1] == "lock" and "00000001.spool" not in while_running  # loaded segments go at once
    assert spool_files(spool_dir) == []
    assert not process_exists(loader_pid)


def test_when_the_loader_process_dies_the_worker_loads_by_itself_and_loses_nothing(tmp_path, database, caplog):
    stored_by_the_worker: list[int] = []

    async def worker_load(batch: list[Item]) -> int:
        stored_by_the_worker.extend(item.n for item in batch)
        return len(batch)

    async def run() -> None:
        spool = in_process(tmp_path / "spool", database, load=worker_load)
        await spool.start()
        assert all(await asyncio.gather(*(spool.put(item) for item in items(100))))
        await flushed(spool)
        os.kill(spool._loader_process._process.pid, signal.SIGKILL)
        assert all(await asyncio.gather(*(spool.put(item) for item in items(100, 100))))
        await flushed(spool)
        await spool.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(run())

    assert database.numbers() == list(range(100))
    assert set(range(100, 200)) <= set(stored_by_the_worker)  # from the spool on disk: offered again is fine
    assert "the loader process is gone" in caplog.text


def test_a_loader_process_that_cannot_start_leaves_the_loading_to_the_worker(tmp_path, database, caplog):
    stored: list[int] = []

    async def worker_load(batch: list[Item]) -> int:
        stored.extend(item.n for item in batch)
        return len(batch)

    async def run() -> None:
        spool = in_process(tmp_path / "spool", database, factory="tests.nowhere:load", load=worker_load)
        await spool.start()
        assert all(await asyncio.gather(*(spool.put(item) for item in items(50))))
        await flushed(spool)
        await spool.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(run())

    assert sorted(stored) == list(range(50))
    assert "loading in the worker" in caplog.text


def test_what_the_database_did_not_take_before_a_stop_is_loaded_by_the_next_start(tmp_path, database):
    spool_dir = tmp_path / "spool"
    database.down.touch()

    async def first_worker() -> None:
        spool = in_process(spool_dir, database, drain_timeout=0.5)
        await spool.start()
        assert all(await asyncio.gather(*(spool.put(item) for item in items(70))))
        await spool.stop()  # the loader process gives up after the drain timeout: all 70 stay on disk

    async def next_worker() -> None:
        spool = in_process(spool_dir, database)
        await spool.start()
        async with asyncio.timeout(60):
            await spool.replay_dead_workers()  # answered by the loader process once it has replayed them
        await spool.stop()

    asyncio.run(first_worker())
    left_behind, stored_meanwhile = spool_files(spool_dir), database.numbers()
    database.down.unlink()
    asyncio.run(next_worker())

    assert left_behind == ["00000001.spool", "lock"] and stored_meanwhile == []
    assert database.numbers() == list(range(70))
    assert spool_files(spool_dir) == []


def test_announcements_wait_for_room_when_the_loader_process_reads_none_and_none_is_lost(tmp_path, database):
    async def run() -> bool:
        spool = in_process(tmp_path / "spool", database, factory=f"{__name__}:load_into_after_a_pause")
        await spool.start()
        fcntl.fcntl(spool._loader_process._requests, fcntl.F_SETPIPE_SZ, 4096)  # room for 240 announcements
        for item in items(600):
            assert await spool.put(item)  # 600 groups, one announcement each, while nobody reads the pipe
        pipe_was_full = spool._loader_process._writing
        await flushed(spool)
        await spool.stop()
        return pipe_was_full

    assert asyncio.run(run())
    assert database.numbers() == list(range(600))


WORKER = """
import asyncio, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.unit.tracking.test_spool import answer_until_killed
from tests.unit.tracking.test_spool_loader import Database, in_process

async def main():
    database = Database(Path({folder!r}))
    database.down.touch()  # nothing is loaded: everything answered stays in the spool
    spool = in_process(Path({folder!r}) / "spool", database)
    await spool.start()
    print(spool._loader_process._process.pid, flush=True)
    await answer_until_killed(spool)

asyncio.run(main())
"""


def test_a_worker_killed_with_sigkill_takes_its_loader_with_it_and_the_next_start_loads_what_it_answered(
    tmp_path, database
):
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER.format(root=str(ROOT), folder=str(tmp_path))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    loader_pid = int(worker.stdout.readline())
    answered = []
    for line in worker.stdout:  # bounded: the worker answers 100,000 items at most
        answered.append(int(line))
        if len(answered) == 2_000:
            break
    os.kill(worker.pid, signal.SIGKILL)  # the worker alone, not its process group
    worker.wait(timeout=30)
    answered += [int(line) for line in worker.stdout.read().split()]
    for _ in range(100):  # bounded: 10 s
        if not process_exists(loader_pid):
            break
        time.sleep(0.1)
    database.down.unlink()

    async def next_start() -> None:
        spool = in_process(tmp_path / "spool", database)
        await spool.start()
        async with asyncio.timeout(60):
            await spool.replay_dead_workers()
        await spool.stop()

    asyncio.run(next_start())

    assert not process_exists(loader_pid)
    assert len(answered) >= 2_000 and set(answered) <= set(database.numbers())
    assert spool_files(tmp_path / "spool") == []

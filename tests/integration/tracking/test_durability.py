"""An answered hit is never lost: kill -9 under load, the database away, a graceful stop. The real app
under granian, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.integration.tracking.servers import Load, Server, TcpProxy, environment, hammer, seed_clicks, through
from tracking.journey.models import JourneyEvent, JourneySession
from tracking.models import TrackingEvent

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
DEADLINE = 90  # seconds the database may take to catch up after a restart (bounded polling: another process)


def stored_clicks(db) -> Counter:
    async def read(session) -> Counter:
        rows = await session.execute(select(TrackingEvent.email_id, TrackingEvent.link_index))
        return Counter(tuple(row) for row in rows)

    return db.run(read)


def stored_sessions(db) -> dict[str, tuple[int, int]]:
    """session id -> (page views in the rollup, events stored)."""

    async def read(session) -> dict[str, tuple[int, int]]:
        views = dict((await session.execute(select(JourneySession.session_id, JourneySession.page_views))).all())
        events = Counter(await session.scalars(select(JourneyEvent.session_id)))
        return {sid: (views.get(sid, 0), events[sid]) for sid in views.keys() | events.keys()}

    return db.run(read)


def journey_batches(count: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Batches of two page views, each in a session of its own."""
    batches = []
    for _ in range(count):
        session_id = str(uuid.uuid4())
        body = {
            "visitor_id": str(uuid.uuid4()),
            "session_id": session_id,
            "events": [{"type": "page_view", "url": "/"}, {"type": "page_view", "url": "/pricing"}],
        }
        batches.append((session_id, "/journey/events", body))
    return batches


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}")
        time.sleep(0.25)


@pytest.fixture
def clicks(db, settings):
    return db.run(lambda session: seed_clicks(session, settings, emails=20, links=60))


def test_kill_9_under_load_then_a_restart_loses_no_answered_hit_or_batch_and_stores_none_twice(
    db, settings, clicks, tmp_path
):
    env = environment(settings, db.url, tmp_path / "spool")
    first = Server(env, tmp_path, workers=2)
    hits, batches = Load(milestone=300), Load()

    async def load_then_kill() -> None:
        async def kill_when_busy() -> None:
            await hits.reached.wait()
            await asyncio.to_thread(first.kill)  # SIGKILL to the server and both workers, mid-load
            hits.stop.set()
            batches.stop.set()

        await asyncio.gather(
            hammer(first.url, clicks, hits, concurrency=32),
            hammer(first.url, journey_batches(2000), batches, concurrency=8),
            kill_when_busy(),
        )

    asyncio.run(load_then_kill())
    answered_clicks, answered_sessions = set(hits.answered), set(batches.answered)
    second = Server(env, tmp_path)  # replays what the dead workers left
    try:
        wait_until(lambda: answered_clicks <= set(stored_clicks(db)), "every answered click stored")
        wait_until(lambda: answered_sessions <= set(stored_sessions(db)), "every answered batch stored")
    finally:
        assert second.stop() == 0

    stored, sessions = stored_clicks(db), stored_sessions(db)
    assert 300 <= len(answered_clicks) < len(clicks)  # killed mid-load
    assert answered_sessions and not hits.wrong and not batches.wrong
    assert answered_clicks <= set(stored) and set(stored) <= {key for key, _, _ in clicks}
    assert set(stored.values()) == {1}  # each click was sent once and is stored once
    assert answered_sessions <= set(sessions)
    assert set(sessions.values()) == {(2, 2)}  # each batch's two pages counted once in its session
    assert not list((tmp_path / "spool").rglob("*.spool"))


def hold_the_database(db, proxy: TcpProxy | None):
    """A context in which the database cannot take writes: on PostgreSQL the proxy is cut (the server
    restarting, a failover); SQLite is locked by another writer."""

    @contextlib.contextmanager
    def held():
        if proxy is not None:
            proxy.cut()
            try:
                yield
            finally:
                proxy.restore()
            return
        path = db.url.split("///", 1)[1]
        locker = sqlite3.connect(path, timeout=30)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            locker.rollback()
            locker.close()

    return held()


def test_the_database_going_away_under_load_loses_and_duplicates_nothing_and_answers_go_on(
    db, settings, clicks, tmp_path
):
    proxy = TcpProxy(5432) if db.url.startswith("postgresql") else None
    url = through(db.url, proxy) if proxy else db.url
    server = Server(environment(settings, url, tmp_path / "spool"), tmp_path)
    before, during, after = Load(), Load(), Load()
    first, middle, last = clicks[:300], clicks[300:900], clicks[900:]
    try:
        asyncio.run(hammer(server.url, first, before))
        with hold_the_database(db, proxy):
            asyncio.run(hammer(server.url, middle, during))
            time.sleep(3)  # the loader retries meanwhile; the routes do not notice
        asyncio.run(hammer(server.url, last, after))
        wait_until(lambda: sum(stored_clicks(db).values()) >= len(clicks), "every click stored")
    finally:
        assert server.stop() == 0
        if proxy is not None:
            proxy.close()

    stored = stored_clicks(db)
    # Every request of the middle third was answered while the database was still away (the load ran
    # inside the outage): the routes waited for the local disk, never for the database.
    assert len(during.answered) == len(middle) and not (during.wrong or during.refused)
    assert len(before.answered) + len(after.answered) == len(first) + len(last) and not (before.wrong or after.wrong)
    assert set(stored) == {key for key, _, _ in clicks} and set(stored.values()) == {1}


def test_a_graceful_stop_right_after_the_load_drains_every_answered_hit(db, settings, clicks, tmp_path):
    server = Server(environment(settings, db.url, tmp_path / "spool"), tmp_path, workers=2)
    load = Load()
    try:
        asyncio.run(hammer(server.url, clicks, load, concurrency=48))
    finally:
        assert server.stop() == 0  # SIGINT at once: whatever is still spooled is loaded before the exit

    stored = stored_clicks(db)
    assert len(load.answered) == len(clicks) and not load.wrong
    assert set(stored) == set(load.answered) and set(stored.values()) == {1}
    assert not list((tmp_path / "spool").rglob("*.spool"))  # every segment loaded and removed


def test_hits_are_stored_with_the_id_they_were_answered_with(db, settings, clicks, tmp_path):
    server = Server(environment(settings, db.url, tmp_path / "spool"), tmp_path)
    load = Load()
    try:
        asyncio.run(hammer(server.url, clicks[:50], load))
    finally:
        server.stop()

    async def hit_ids(session) -> list[Any]:
        return list(await session.scalars(text("SELECT hit_id FROM tracking_events")))

    ids = db.run(hit_ids)
    assert len(load.answered) == 50
    assert len(set(ids)) == 50 and None not in ids

"""Journey analytics benchmark: ingest against a bare route, and the report over a million events.

1. Ingest: POST /journey/events (batches of 10 events, validated, reduced, fsynced to the spool
   before the 202, then loaded into SQLite behind the answers, many batches per transaction)
   against a bare Litestar POST route, both through Litestar's TestClient in this run: the ratio
   is what validation + durability cost on top of the framework. Then the time until every
   accepted event is in the database (the loader catching up), for the events/s end to end.
2. Report: 1,000,000 generated events (30 days, 60k visitors, ~100k sessions, with their
   session rollup rows) bulk-loaded into SQLite and, when a server answers at TEST_DATABASE_URL,
   PostgreSQL; then the full staff report (every figure) over the 30 days and over one week:
   the median of three warm runs, then each figure once.

Run: .venv/bin/python bench/bench_journey.py  [--events N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advanced_alchemy.alembic.commands import AlembicCommands
from litestar import Litestar, post
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from governance.app import create_app
from governance.core.db import alchemy_config, create_engine
from governance.core.settings import Settings
from tracking.journey import report
from tracking.journey.plugin import SPOOL_STATE_KEY

logging.getLogger("httpx").setLevel(logging.WARNING)

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=30)
PATHS = [
    "/",
    "/pricing",
    "/docs",
    "/docs/api",
    "/signup",
    "/signup/details",
    "/blog",
    "/about",
    "/features",
    "/contact",
] + [f"/blog/post-{i}" for i in range(40)]
STEPS = ["signup_started", "email_verified", "domain_added", "first_email_sent"]
SOURCES = [
    (None, None, None, None),
    ("newsletter", "email", "launch", None),
    ("google", "cpc", "brand", None),
    (None, None, None, "news.example.org"),
]
COUNTRIES = ["IN", "US", "DE", "GB", None]
EVENT_COLUMNS = ("id", "occurred_at", "visitor_id", "session_id", "event_type", "path", "query", "from_path", "step")
SESSION_COLUMNS = ("id", "session_id", "visitor_id", "started_at", "ended_at", "landing_path", "exit_path", "page_views",
                   "country", "region", "ft_referrer", "ft_source", "ft_medium", "ft_campaign", "ft_term", "ft_content")  # fmt: skip


def settings(url: str, **overrides) -> Settings:
    return Settings(
        database_url=url,
        jwt_secret="bench-" + "x" * 40,
        token_keys=(("b", b"y" * 40),),
        scheduler_enabled=False,
        log_level="WARNING",
        **overrides,
    )


def migrate(url: str) -> None:
    AlembicCommands(sqlalchemy_config=alchemy_config(settings(url))).upgrade("head")


# -- 1. ingest ------------------------------------------------------------------------------


def ingest_body(i: int) -> dict:
    return {
        "visitor_id": str(uuid.UUID(int=i % 5000 + 1, version=4)),
        "session_id": str(uuid.UUID(int=i + 1, version=4)),
        "first_touch": {"referrer": "news.example.org", "utm_source": "newsletter", "utm_medium": "email"},
        "events": [
            {
                "type": "page_view",
                "url": f"https://mailssetu.in{PATHS[(i + n) % len(PATHS)]}?utm_source=nl&email=a@b.c",
                "age_ms": 1000 - n,
            }
            for n in range(10)
        ],
    }


def timed_posts(client: TestClient, path: str, bodies: list[bytes], expect: int) -> list[float]:
    samples = []
    for body in bodies:
        began = time.perf_counter()
        response = client.post(path, content=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
        samples.append(time.perf_counter() - began)
        assert response.status_code == expect, response.text
    return samples


def bench_ingest(requests: int) -> None:
    @post("/bare", status_code=202, sync_to_thread=False)
    def bare() -> None:
        return None

    bodies = [json.dumps(ingest_body(i)).encode() for i in range(requests)]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/ingest.db"
        migrate(url)
        app = create_app(settings(url, journey_batches_per_minute=10**9, spool_dir=f"{folder}/spool"))
        with (
            TestClient(Litestar([bare]), base_url="http://bench.local") as bare_client,
            TestClient(app, base_url="http://bench.local") as client,
        ):
            timed_posts(bare_client, "/bare", bodies[:50], 202)  # warm up
            timed_posts(client, "/journey/events", bodies[:50], 202)
            bare_times, ingest_times = [], []
            began = time.perf_counter()
            for body in bodies:  # interleaved, so a busy moment on the machine hits both alike
                bare_times += timed_posts(bare_client, "/bare", [body], 202)
                ingest_times += timed_posts(client, "/journey/events", [body], 202)
            client.blocking_portal.call(app.state[SPOOL_STATE_KEY].flush)  # every accepted event stored
            end_to_end = time.perf_counter() - began - sum(bare_times)
            stored = sqlite3.connect(f"{folder}/ingest.db").execute("SELECT count(*) FROM journey_events").fetchone()[0]
    bare_ms, ingest_ms = statistics.median(bare_times) * 1000, statistics.median(ingest_times) * 1000
    events = 10 * requests
    print(f"ingest, {requests} batches of 10 events (SQLite, TestClient, one client, median per request):")
    print(f"  bare POST route        {bare_ms:7.2f} ms   {1 / statistics.mean(bare_times):8.0f} req/s")
    print(f"  POST /journey/events   {ingest_ms:7.2f} ms   {1 / statistics.mean(ingest_times):8.0f} req/s"
          f"   {10 / statistics.mean(ingest_times):8.0f} events/s accepted")  # fmt: skip
    print(f"  ratio ingest / bare    {ingest_ms / bare_ms:7.1f}x   (goal <= 3x)")
    print(f"  end to end             {events / end_to_end:8.0f} events/s stored ({stored - 500:,} of {events:,} in the"
          f" database once the loader caught up)")  # fmt: skip


# -- 2. report over a million events -------------------------------------------------------------


def generate(total: int, seed: int = 7):
    """(events, sessions) rows: sessions of 1-15 pages, some with onboarding steps, over 30 days."""
    rng = random.Random(seed)
    visitors = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(60_000)]
    touch = {v: rng.choice(SOURCES) for v in visitors}
    events, sessions = [], []
    span = (END - START).total_seconds()
    while len(events) < total:
        visitor, session = rng.choice(visitors), str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = started = START + timedelta(seconds=rng.random() * (span - 3600))
        paths = [rng.choice(PATHS) for _ in range(rng.randint(1, 15))]
        steps = STEPS[: rng.choice((0, 0, 0, 1, 2, 3, 4))]
        for n, path in enumerate(paths):
            at += timedelta(seconds=rng.randint(5, 120))
            kind = "page_view" if n == 0 or n % 3 else "transition"
            events.append((len(events) + 1, at, visitor, session, kind, path, None, paths[n - 1] if n else None, None))
        for step in steps:
            at += timedelta(seconds=rng.randint(5, 120))
            events.append((len(events) + 1, at, visitor, session, "step", "/signup", None, None, step))
        source, medium, campaign, referrer = touch[visitor]
        sessions.append((len(sessions) + 1, session, visitor, started, at, paths[0], paths[-1], len(paths),
                         rng.choice(COUNTRIES), None, referrer, source, medium, campaign, None, None))  # fmt: skip
    return events, sessions


def load_sqlite(path: str, total: int) -> float:
    """Bulk insert with the indexes dropped, then rebuilt: what a restore would do."""
    events, sessions = generate(total)
    began = time.perf_counter()
    connection = sqlite3.connect(path)
    indexes = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'journey_%' AND sql IS NOT NULL"
    ).fetchall()
    with connection:
        for (sql,) in indexes:
            connection.execute("DROP INDEX " + sql.split()[2])
        for table, columns, rows in (
            ("journey_events", EVENT_COLUMNS, events),
            ("journey_sessions", SESSION_COLUMNS, sessions),
        ):
            stamped = (
                [value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value for value in row]
                for row in rows
            )
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", stamped
            )
        for (sql,) in indexes:
            connection.execute(sql)
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - began


async def load_postgres(url: str, total: int) -> float:
    import asyncpg

    events, sessions = generate(total)
    began = time.perf_counter()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for table, columns, rows in (
            ("journey_events", EVENT_COLUMNS, events),
            ("journey_sessions", SESSION_COLUMNS, sessions),
        ):
            await connection.copy_records_to_table(table, records=rows, columns=columns)
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
            await connection.execute(f"ANALYZE {table}")
    finally:
        await connection.close()
    return time.perf_counter() - began


FIGURES = {
    "totals": report._totals,
    "landing pages": lambda s, a, b: report._top_pages(s, a, b, report.S.landing_path, 10),
    "exit pages": lambda s, a, b: report._top_pages(s, a, b, report.S.exit_path, 10),
    "attribution": lambda s, a, b: report._attribution(s, a, b, 10),
    "funnel (4 steps)": lambda s, a, b: report._funnel(s, a, b, STEPS),
    "countries": lambda s, a, b: report._countries(s, a, b, 10),
}


async def time_report(url: str, label: str) -> None:
    engine = create_engine(url)
    try:
        async with async_sessionmaker(engine)() as session:
            count = await session.scalar(text("SELECT count(*) FROM journey_events"))
            for span_label, start in (("30 days", START), ("7 days", END - timedelta(days=7))):
                await report.build_report(session, start, END, steps=STEPS)  # warm the caches first
                runs = []
                for _ in range(3):
                    began = time.perf_counter()
                    built = await report.build_report(session, start, END, steps=STEPS)
                    runs.append(time.perf_counter() - began)
                whole = statistics.median(runs)
                parts = {}
                for name, figure in FIGURES.items():
                    began = time.perf_counter()
                    await figure(session, start, END)
                    parts[name] = time.perf_counter() - began
                detail = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in parts.items())
                print(f"  {label}, {count:,} events, report over {span_label}: {whole:6.2f} s"
                      f" ({built.visitors:,} visitors, {built.sessions:,} sessions)\n      {detail}")  # fmt: skip
    finally:
        await engine.dispose()


async def _admin(admin_url: str, statement: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def bench_report(total: int) -> None:
    print(f"report over {total:,} generated events:")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/report.db"
        migrate(url)
        print(f"  SQLite load: {load_sqlite(f'{folder}/report.db', total):.1f} s")
        asyncio.run(time_report(url, "SQLite"))

    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    try:
        asyncio.run(asyncio.wait_for(_admin(admin_url, "SELECT 1"), timeout=5))
    except Exception as exc:  # noqa: BLE001  (no server: say so and stop)
        print(f"  PostgreSQL skipped: not reachable at {admin_url} ({exc.__class__.__name__})")
        return
    name = f"bench_journey_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        print(f"  PostgreSQL load: {asyncio.run(load_postgres(url, total)):.1f} s")
        asyncio.run(time_report(url, "PostgreSQL"))
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--no-report", action="store_true", help="only the ingest part")
    args = parser.parse_args()
    bench_ingest(args.requests)
    if not args.no_report:
        bench_report(args.events)


if __name__ == "__main__":
    main()

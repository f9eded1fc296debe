"""The audit log's hash chain: what an append costs with it, and how long verifying 100k entries takes.

Per engine (SQLite, PostgreSQL), measured in the same run:

- append: `audit.record` in its own transaction (lock the chain's row, hash, insert, move the head,
  commit), against the same insert and commit with the chain switched off (the baseline). Rounds of
  each alternate, so machine load hits both alike; medians per append and their ratio are printed.
- verify: `python -m governance audit-log verify`'s walk over N chained entries, against reading the
  same rows in the same batches without checking anything (the baseline): time and ratio.

    .venv/bin/python bench/bench_audit_chain.py [--entries 100000] [--appends 300] [--engines sqlite,postgresql]
PostgreSQL: TEST_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test) names a
server where a scratch database is created and dropped; skipped with a message when none answers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from governance.audit_log import verify as verifying
from governance.core import audit
from governance.core.audit import GENESIS, AuditChain, AuditEntry
from governance.core.audit.chain import _chain_new_entries, canonical_details, entry_hash, lock_head
from governance.core.db import create_engine

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ROUNDS = 6
DETAILS = {"number": 7, "content_hash": "ab" * 32, "effective_from": "2026-12-01T00:00:00+00:00", "material": True}


def migrate(url: str) -> None:
    from advanced_alchemy.alembic.commands import AlembicCommands

    from governance.core.db import alchemy_config
    from governance.core.settings import Settings

    settings = Settings(database_url=url, jwt_secret="b" * 40, token_keys=(("b", b"b" * 40),), scheduler_enabled=False)
    AlembicCommands(sqlalchemy_config=alchemy_config(settings)).upgrade("head")


# --- appends -------------------------------------------------------------------------------------


async def chained_appends(engine: AsyncEngine, count: int) -> list[float]:
    sessions, times = async_sessionmaker(engine, expire_on_commit=False), []
    for n in range(count):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await audit.record(session, actor="bench@example.test", action="policy.publish", subject=f"v{n}", **DETAILS)
        times.append(time.perf_counter() - started)
    return times


async def plain_appends(engine: AsyncEngine, count: int) -> list[float]:
    """The same entry, inserted and committed, with the chain's hook switched off."""
    sessions, times = async_sessionmaker(engine, expire_on_commit=False), []
    event.remove(Session, "before_flush", _chain_new_entries)
    try:
        for n in range(count):
            started = time.perf_counter()
            async with sessions() as session, session.begin():
                session.add(
                    AuditEntry(
                        occurred_at=datetime.now(UTC),
                        actor="bench@example.test",
                        action="policy.publish",
                        subject=f"v{n}",
                        details=DETAILS,
                        prev_hash=GENESIS,
                        hash=GENESIS,
                    )
                )
                await session.flush()
            times.append(time.perf_counter() - started)
    finally:
        event.listen(Session, "before_flush", _chain_new_entries)
    return times


async def bench_appends(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        chained: list[float] = []
        plain: list[float] = []
        for _ in range(ROUNDS):
            plain += await plain_appends(engine, count // ROUNDS)
            chained += await chained_appends(engine, count // ROUNDS)
    finally:
        await engine.dispose()
    with_chain, without = statistics.median(chained) * 1000, statistics.median(plain) * 1000
    print(
        f"  append, own transaction: {with_chain:.2f} ms with the chain vs {without:.2f} ms without "
        f"(median of {len(chained)} each): {with_chain / without:.2f}x"
    )


# --- verification --------------------------------------------------------------------------------


async def generate(engine: AsyncEngine, entries: int) -> None:
    """N chained entries, hashed here and inserted in batches (an append at a time would take minutes)."""
    previous, start, batch = GENESIS, datetime(2026, 1, 1, tzinfo=UTC), []
    details = canonical_details(DETAILS)
    async with engine.begin() as conn:
        await conn.run_sync(lock_head)
        for n in range(entries):
            at = start + timedelta(seconds=n)
            digest = entry_hash(previous, at, "bench@example.test", "policy.publish", f"v{n}", details)
            batch.append(
                {
                    "occurred_at": at,
                    "actor": "bench@example.test",
                    "action": "policy.publish",
                    "subject": f"v{n}",
                    "details": details,
                    "prev_hash": previous,
                    "hash": digest,
                }
            )
            previous = digest
            if len(batch) == 10_000:
                await conn.execute(insert(AuditEntry), batch)
                batch = []
        if batch:
            await conn.execute(insert(AuditEntry), batch)
        await conn.execute(update(AuditChain).where(AuditChain.id == 1).values(head_hash=previous))


async def read_only(session) -> int:
    """The baseline: the same rows in the same keyset batches, nothing checked."""
    after, rows = 0, 0
    while True:
        batch = (await session.execute(verifying._batch(after, []))).all()
        rows += len(batch)
        if len(batch) < verifying.BATCH:
            return rows
        after = batch[-1].id


async def bench_verify(url: str, entries: int) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log"))
        started = time.perf_counter()
        await generate(engine, entries)
        print(f"  generated {entries:,} chained entries in {time.perf_counter() - started:.1f} s")
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session:
            read = await read_only(session)  # warm the caches, so neither side pays for the first read
        reading, checking = [], []
        for _ in range(2):  # alternating, best of two each: load on the machine hits both alike
            async with sessions() as session:
                started = time.perf_counter()
                await read_only(session)
                reading.append(time.perf_counter() - started)
            async with sessions() as session:
                started = time.perf_counter()
                result = await verifying.verify(session)
                checking.append(time.perf_counter() - started)
        assert result.holds and result.entries == read == entries, result.sentence
        print(
            f"  verify {entries:,} entries: {min(checking):.2f} s ({entries / min(checking):,.0f} entries/s) vs reading "
            f"them {min(reading):.2f} s: {min(checking) / min(reading):.2f}x"
        )
        async with sessions() as session:
            count = await session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
            started = time.perf_counter()
            await verifying.verify(session, from_id=count - 999, to_id=count)
            print(f"  verify the last 1,000 entries (a stretch): {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        await engine.dispose()


def bench_engine(url: str, entries: int, appends: int) -> None:
    migrate(url)
    asyncio.run(bench_appends(url, appends))
    asyncio.run(bench_verify(url, entries))


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    if "sqlite" in args.engines:
        print("== SQLite")
        with tempfile.TemporaryDirectory() as folder:
            bench_engine(f"sqlite+aiosqlite:///{folder}/bench.db", args.entries, args.appends)

    if "postgresql" in args.engines:
        print("== PostgreSQL")
        admin = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
        try:
            asyncio.run(asyncio.wait_for(_admin(admin, "SELECT 1"), timeout=5))
        except Exception as exc:  # noqa: BLE001
            print(f"  skipped: PostgreSQL not reachable at {admin} ({exc.__class__.__name__})")
            return
        name = f"bench_audit_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
        try:
            bench_engine(admin.rsplit("/", 1)[0] + f"/{name}", args.entries, args.appends)
        finally:
            asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

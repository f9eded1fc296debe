"""Migration 0010 chains the entries an existing database already has, so it verifies from day one."""

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from advanced_alchemy.alembic.commands import AlembicCommands
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import String, column, insert, table

from governance.audit_log.verify import verify
from governance.core.db import alchemy_config, standalone_session
from tests.conftest import DEFAULT_PG, _admin_execute, base_settings

T0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
ROWS = [
    (T0, "a@example.test", "policy.publish", "cookie-policy v1", {"number": 1}),
    (T0 + timedelta(days=1, microseconds=250_000), "b@example.test", "retention.rule", "violations", {"new_days": 90}),
    (T0 + timedelta(days=2), "cli", "inventory.export", "cookie-policy v1", {"rows": 6, "format": "csv"}),
]
OLD_LOG = table(  # audit_log as migration 0001 made it, before the chain's columns
    "audit_log",
    column("occurred_at", DateTimeUTC(timezone=True)),
    column("actor", String()),
    column("action", String()),
    column("subject", String()),
    column("details", JsonB),
)


@pytest.fixture(
    params=[pytest.param("sqlite", marks=pytest.mark.sqlite), pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def fresh_url(request, tmp_path):
    """An empty database of each engine, for migrations to run on step by step."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    admin = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    try:
        asyncio.run(asyncio.wait_for(_admin_execute(admin, "SELECT 1"), timeout=5))
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {admin}")
    name = f"governance_migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_execute(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_existing_entries_are_chained_by_the_migration_and_verify(fresh_url):
    commands = AlembicCommands(sqlalchemy_config=alchemy_config(base_settings(fresh_url)))
    commands.upgrade("0006_retention")
    asyncio.run(_insert_old_entries(fresh_url))

    commands.upgrade("head")

    result = asyncio.run(_verify(fresh_url))
    assert result.holds and result.entries == 3, result.sentence
    commands.downgrade("0006_retention")  # and back: the columns and the chain's table go, the entries stay
    commands.upgrade("head")
    again = asyncio.run(_verify(fresh_url))
    assert again.holds and again.entries == 3 and again.head_hash == result.head_hash


async def _insert_old_entries(url: str) -> None:
    rows = [dict(zip(("occurred_at", "actor", "action", "subject", "details"), row, strict=True)) for row in ROWS]
    async with standalone_session(url) as session:
        await session.execute(insert(OLD_LOG), rows)


async def _verify(url: str):
    async with standalone_session(url) as session:
        return await verify(session)

"""Every entry is chained to the one before by SHA-256; the chain never forks; tampering is found."""

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from governance.core import audit
from governance.core.audit import GENESIS, AuditAction, AuditEntry
from governance.core.db import create_engine
from tests.integration.audit_log.helpers import append, chain, checked, execute

T0 = datetime(2026, 6, 15, 12, tzinfo=UTC)


def test_each_entry_carries_the_hash_of_the_one_before(db):
    append(db, 3)

    entries = chain(db)

    assert [e.prev_hash for e in entries] == [GENESIS, entries[0].hash, entries[1].hash]
    assert len({e.hash for e in entries}) == 3
    assert checked(db).holds and checked(db).head_hash == entries[-1].hash


def test_the_hash_is_sha256_over_the_canonical_json_anyone_can_recompute(db):
    with_details = {
        "number": 2,
        "when": T0,
        "id": uuid.UUID(int=7),
        "ratio": 0.25,
        "nested": {"b": 1, "a": [1, "x"]},
        "text": 'quote " back\\ tab\t nl\n é ✓ 😀 \x01 \u2028',
    }
    db.run(lambda s: audit.record(s, actor="a@example.test", action="policy.publish", subject="v2", **with_details))

    [entry] = chain(db)

    canonical = {
        "action": "policy.publish",
        "actor": "a@example.test",
        "details": entry.details,
        "occurred_at": entry.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "prev_hash": GENESIS,
        "subject": "v2",
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry.hash == hashlib.sha256(text.encode()).hexdigest()
    assert entry.details == {
        "number": 2,
        "when": "2026-06-15T12:00:00Z",
        "id": "00000000-0000-0000-0000-000000000007",
        "ratio": "0.25",  # a float is kept as its decimal text: engines rewrite numbers
        "nested": {"a": [1, "x"], "b": 1},
        "text": with_details["text"],
    }


def test_actions_are_the_enumeration_or_its_values_and_nothing_else(db):
    db.run(lambda s: audit.record(s, actor="x", action="tracking.domain_settings", subject="a.example"))
    db.run(lambda s: audit.record(s, actor="x", action=AuditAction.POLICY_WITHDRAW, subject="v3"))

    with pytest.raises(ValueError, match=r"unknown audit action 'tracking\.domain_setting'"):
        db.run(lambda s: audit.record(s, actor="x", action="tracking.domain_setting", subject="a.example"))

    assert [e.action for e in chain(db)] == ["tracking.domain_settings", "policy.withdraw"]


def test_the_enumeration_lists_every_action_recorded_anywhere_in_the_code():
    import re
    from pathlib import Path

    root = Path(__file__).parents[3]
    recorded = set()
    for package in ("governance", "auth", "policy_docs", "tracking"):
        for path in (root / package).glob("**/*.py"):
            for call in re.finditer(r"audit\.record\((.*?)\)", path.read_text(encoding="utf-8"), re.DOTALL):
                recorded.update(re.findall(r'action="([^"]+)"', call[1]))
                recorded.update(AuditAction[name].value for name in re.findall(r"AuditAction\.([A-Z_]+)", call[1]))
    assert {"policy.publish", "tracking.domain_add", "journey.erase_visitor", "policy.withdraw"} <= recorded
    assert recorded <= {a.value for a in AuditAction}


def test_entries_added_to_a_session_directly_are_chained_too(db):
    append(db, 1)

    async def add(session):
        session.add(AuditEntry(occurred_at=T0, actor="seed", action="seed", subject="seed", details={}))

    db.run(add)

    first, second = chain(db)
    assert second.prev_hash == first.hash and second.hash and checked(db).holds


async def _append_concurrently(url: str, instances: int, writers: int, each: int) -> None:
    engines = [create_engine(url) for _ in range(instances)]  # one engine per "instance"

    async def writer(engine, w: int) -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        for n in range(each):
            async with async_sessionmaker(engine)() as session, session.begin():
                await audit.record(session, actor=f"writer {w}", action="policy.publish", subject=f"{w}.{n}")

    try:
        await asyncio.gather(*(writer(engines[w % instances], w) for w in range(writers)))
    finally:
        for engine in engines:
            await engine.dispose()


def test_concurrent_appends_from_two_instances_never_fork_the_chain(db):
    asyncio.run(_append_concurrently(db.url, instances=2, writers=8, each=6))

    entries = chain(db)
    assert len(entries) == 48 and {e.subject for e in entries} == {f"{w}.{n}" for w in range(8) for n in range(6)}
    assert len({e.prev_hash for e in entries}) == 48  # no two entries extend the same one: no fork
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert checked(db).holds and checked(db).entries == 48


def test_an_entry_edited_in_the_database_is_named(db):
    append(db, 5)
    third = chain(db)[2]
    assert checked(db).holds

    execute(db, "UPDATE audit_log SET subject = 'something else' WHERE id = :id", id=third.id)

    result = checked(db)
    assert not result.holds and result.broken.entry_id == third.id
    assert "was changed after it was written" in result.broken.reason


def test_an_edit_that_recomputes_the_hash_breaks_the_next_link(db):
    append(db, 5)
    third, fourth = chain(db)[2:4]
    forged = hashlib.sha256(b"forged").hexdigest()

    execute(db, "UPDATE audit_log SET hash = :h WHERE id = :id", h=forged, id=third.id)

    broken = checked(db).broken
    assert broken.entry_id in (third.id, fourth.id)  # its own content no longer hashes to it


def test_a_deleted_entry_in_the_middle_is_found_at_the_next_one(db):
    append(db, 5)
    entries = chain(db)

    execute(db, "DELETE FROM audit_log WHERE id = :id", id=entries[2].id)

    broken = checked(db).broken
    assert broken.entry_id == entries[3].id
    assert f"does not follow entry #{entries[1].id}" in broken.reason


def test_entries_cut_off_the_end_are_found_by_the_head(db):
    append(db, 4)
    entries = chain(db)

    execute(db, "DELETE FROM audit_log WHERE id >= :id", id=entries[2].id)

    broken = checked(db).broken
    assert broken.entry_id == entries[1].id and "were removed" in broken.reason


def test_a_stretch_is_checked_inside_and_at_both_ends(db):
    append(db, 6)
    entries = chain(db)
    middle = {"from_id": entries[1].id, "to_id": entries[3].id}
    assert checked(db, **middle).holds and checked(db, **middle).entries == 3

    execute(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=entries[5].id)
    assert checked(db, **middle).holds  # the edit lies outside the stretch
    execute(db, "UPDATE audit_log SET prev_hash = :h WHERE id = :id", h=GENESIS, id=entries[4].id)

    broken = checked(db, **middle).broken
    assert broken.entry_id == entries[4].id  # the entry after the stretch no longer follows it


def test_a_range_of_instants_covers_the_entries_written_in_it(db):
    for day in range(4):
        append(db, 2, at=T0 + timedelta(days=day))

    result = checked(db, since=T0 + timedelta(days=1), until=T0 + timedelta(days=3))

    assert result.holds and result.entries == 4 and not result.whole_chain
    assert checked(db, since=T0 + timedelta(days=10)).entries == 0


def test_purges_keep_a_checkpoint_so_the_rest_still_verifies(db):
    old, young = T0 - timedelta(days=10), T0
    append(db, 5, at=old)
    append(db, 3, at=young)
    entries = chain(db)

    async def purge(session):
        return [await audit.purge_before(session, T0 - timedelta(days=1), 2) for _ in range(4)]

    assert db.run(lambda s: audit.count_before(s, T0 - timedelta(days=1))) == 5
    assert db.run(purge) == [2, 2, 1, 0]

    remaining = chain(db)
    assert [e.id for e in remaining] == [e.id for e in entries[5:]]
    result = checked(db)
    assert result.holds and result.entries == 3 and result.checkpoint_id == entries[4].id
    append(db, 1)
    assert checked(db).holds and checked(db).entries == 4
    execute(db, "DELETE FROM audit_log WHERE id = :id", id=remaining[0].id)  # control: still caught after purges
    assert checked(db).broken.entry_id == remaining[1].id


def test_an_entry_put_back_before_the_checkpoint_is_found(db):
    append(db, 3, at=T0 - timedelta(days=10))
    append(db, 1, at=T0)
    first = chain(db)[0]
    assert db.run(lambda s: audit.purge_before(s, T0 - timedelta(days=1), 10)) == 3
    assert checked(db).holds

    columns = "id, occurred_at, actor, action, subject, details, prev_hash, hash"
    execute(db, f"INSERT INTO audit_log ({columns}) VALUES (:id, :at, 'x', 'policy.publish', 's', '{{}}', :p, :h)",
            id=first.id, at=first.occurred_at, p=first.prev_hash, h=first.hash)  # fmt: skip

    broken = checked(db).broken
    assert broken.entry_id == first.id and "at or before the checkpoint" in broken.reason


def test_a_purge_only_takes_the_oldest_stretch_never_a_younger_entry_before_an_older_one(db):
    append(db, 2, at=T0 - timedelta(days=30))
    append(db, 1, at=T0)  # young
    append(db, 1, at=T0 - timedelta(days=30))  # old again, but after a young one in the chain

    async def purge(session):
        return await audit.purge_before(session, T0 - timedelta(days=1), 100)

    assert db.run(purge) == 2
    assert [e.occurred_at for e in chain(db)] == [T0, T0 - timedelta(days=30)]
    assert checked(db).holds


def test_the_retention_purge_of_the_audit_log_leaves_a_chain_that_verifies(db):
    from freezegun import freeze_time

    from governance.retention import service

    seven_years = timedelta(days=7 * 365)
    append(db, 3, at=T0 - seven_years - timedelta(days=2))
    append(db, 2, at=T0 - timedelta(days=1))

    async def run():
        engine = create_engine(db.url)
        try:
            return await service.purge(engine, trigger="manual", actor="test", batch_size=2)
        finally:
            await engine.dispose()

    with freeze_time(T0, real_asyncio=True):
        run_row = asyncio.run(run())

    assert run_row.deleted["audit_log"] == 3
    result = checked(db)
    assert result.holds and result.entries == 3  # the two kept and the purge's own entry
    assert db.scalar("SELECT purged FROM audit_chain") == 3


def test_an_empty_log_holds(db):
    result = checked(db)
    assert result.holds and result.entries == 0 and "no entries" in result.sentence


def test_a_missing_chain_row_is_reported_when_entries_exist(db):
    append(db, 2)
    execute(db, "DELETE FROM audit_chain")

    assert "head row is missing" in checked(db).broken.reason


def test_an_entry_recorded_in_a_transaction_that_rolls_back_is_never_written(db):
    class Refused(Exception):
        pass

    async def refused(session):
        await audit.record(session, actor="x", action="policy.publish", subject="rolled back")
        raise Refused

    append(db, 1)
    with pytest.raises(Refused):
        db.run(refused)
    append(db, 1)

    assert [e.subject for e in chain(db)] == ["thing 0", "thing 0"]
    assert checked(db).holds and checked(db).entries == 2


def test_entries_are_written_at_commit_so_recording_first_never_deadlocks(db):
    """Recording before other writes (in any order between two transactions) is safe: the chain's row is
    locked only at commit, after the transaction's other locks."""
    if not db.url.startswith("postgresql"):
        pytest.skip("SQLite has one write lock: two transactions cannot hold two locks in opposite orders")
    from policy_docs import service

    db.run(service.ensure_seeded)  # a policy_documents row for both transactions to write
    asyncio.run(_opposite_orders(db.url))

    assert [e.subject for e in chain(db)][1:] == ["second", "first"] and checked(db).holds


async def _opposite_orders(url: str) -> None:
    from sqlalchemy import text as sql
    from sqlalchemy.ext.asyncio import async_sessionmaker

    engines = [create_engine(url), create_engine(url)]
    recorded, updated = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with async_sessionmaker(engines[0])() as session, session.begin():
            await audit.record(session, actor="x", action="policy.publish", subject="first")
            recorded.set()
            await updated.wait()
            await session.execute(sql("UPDATE policy_documents SET title = title"))  # blocked by `second`

    async def second() -> None:
        await recorded.wait()
        async with async_sessionmaker(engines[1])() as session, session.begin():
            await session.execute(sql("UPDATE policy_documents SET title = title"))
            updated.set()
            await _until_someone_waits_for_a_lock(session)
            await audit.record(session, actor="x", action="policy.publish", subject="second")

    try:
        async with asyncio.timeout(30):
            await asyncio.gather(first(), second())
    finally:
        for engine in engines:
            await engine.dispose()


async def _until_someone_waits_for_a_lock(session) -> None:
    from sqlalchemy import text as sql

    waiting = sql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(500):
        await session.execute(sql("SELECT pg_stat_clear_snapshot()"))  # else the view is read once per transaction
        if await session.scalar(waiting):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the first transaction never waited for the row")

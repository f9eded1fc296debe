"""The purge: each data class loses what is older than its period, keeps the rest, and says so."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from governance.retention import service
from governance.retention.registry import data_classes
from tests.integration.retention.seed import MAKERS, T0, count, period, purge, seed

DAY = timedelta(days=1)


def seed_both_sides_of_every_cutoff(db) -> None:
    for name in data_classes():
        seed(db, name, T0 - period(name) - DAY, T0 - period(name) - 2 * DAY, T0 - period(name) + DAY)


def test_every_data_class_is_covered_by_these_tests():
    assert set(MAKERS) == set(data_classes())


def test_purge_deletes_what_is_older_than_each_period_and_keeps_the_rest(db):
    seed_both_sides_of_every_cutoff(db)

    with freeze_time(T0, real_asyncio=True):
        run = purge(db)

    assert run.status == "succeeded" and run.error is None
    for name in data_classes():
        assert count(db, name) == 1, name
        assert run.deleted[name] == 2, name
        assert run.cutoffs[name] == (T0 - period(name)).isoformat()
    assert run.started_at == T0 and run.finished_at == T0


def test_the_purge_run_is_in_the_audit_log(db):
    with freeze_time(T0, real_asyncio=True):
        run = purge(db, actor="ops@example.test")

    entry = db.scalar("SELECT actor || ' ' || action || ' ' || subject FROM audit_log WHERE action = 'retention.purge'")
    assert entry == f"ops@example.test retention.purge purge run {run.id}"


def test_a_changed_period_moves_the_cutoff(db):
    seed(db, "violations", T0 - 40 * DAY, T0 - 20 * DAY)
    db.run(lambda s: service.set_periods(s, {"violations": 30}, actor="staff@example.test"))

    with freeze_time(T0, real_asyncio=True):
        run = purge(db)

    assert run.deleted["violations"] == 1 and count(db, "violations") == 1


def test_small_batches_delete_everything_and_count_every_row(db):
    seed(db, "login_failures", *[T0 - period("login_failures") - n * DAY for n in range(1, 8)])

    with freeze_time(T0, real_asyncio=True):
        run = purge(db, batch_size=2)

    assert run.deleted["login_failures"] == 7 and count(db, "login_failures") == 0


def test_a_second_purge_finds_nothing_more_to_delete(db):
    seed_both_sides_of_every_cutoff(db)

    with freeze_time(T0, real_asyncio=True):
        purge(db)
        again = purge(db)

    assert again.status == "succeeded"
    assert set(again.deleted.values()) == {0}


def test_dry_run_counts_what_would_go_and_deletes_nothing(db):
    seed_both_sides_of_every_cutoff(db)

    with freeze_time(T0, real_asyncio=True):
        previews = db.run(service.preview)

    assert {p.name: p.rows for p in previews} == dict.fromkeys(data_classes(), 2)
    assert all(count(db, name) == 3 for name in data_classes())
    assert db.scalar("SELECT count(*) FROM purge_runs WHERE actor <> 'seed'") == 0


def test_a_scheduled_slot_is_purged_once(db):
    with freeze_time(T0, real_asyncio=True):
        first = purge(db, trigger="scheduled", slot="2026-06-15T03:00Z")
        second = purge(db, trigger="scheduled", slot="2026-06-15T03:00Z")

    assert first.status == "succeeded" and second is None
    assert db.scalar("SELECT count(*) FROM purge_runs WHERE slot = '2026-06-15T03:00Z'") == 1


def test_a_purge_is_refused_while_another_holds_the_lock(db):
    import asyncio

    from governance.core.db import create_engine
    from governance.retention.locking import purge_lock

    async def purge_while_locked() -> None:
        engine = create_engine(db.url)
        try:
            async with purge_lock(engine) as held:
                assert held
                await service.purge(engine, trigger="manual", actor="test")
        finally:
            await engine.dispose()

    with pytest.raises(service.PurgeBusy):
        asyncio.run(purge_while_locked())


def test_a_run_abandoned_by_a_crash_is_finished_with_its_own_cutoffs(db):
    old = T0 - period("violations") - DAY
    seed(db, "violations", old, old, T0 - period("violations") + DAY)
    cutoffs = {name: (T0 - period(name)).isoformat() for name in data_classes()}

    async def abandoned(session) -> int:  # what a crashed instance leaves behind
        from governance.retention.models import PurgeRun

        run = PurgeRun(
            slot="2026-06-15T03:00Z",
            trigger="scheduled",
            actor="scheduler",
            status="running",
            started_at=T0,
            resumed=0,
            cutoffs=cutoffs,
            deleted=dict.fromkeys(cutoffs, 0),
            partitions_dropped=[],
        )
        session.add(run)
        await session.flush()
        return run.id

    run_id = db.run(abandoned)

    with freeze_time(T0 + 30 * DAY, real_asyncio=True):  # much later: its cutoffs, not today's, apply
        purge(db, trigger="scheduled", slot="2026-06-15T03:00Z")

    status, resumed = db.run(lambda s: _status(s, run_id))
    assert (status, resumed) == ("succeeded", 1)
    assert count(db, "violations") == 1


async def _status(session, run_id):
    from governance.retention.models import PurgeRun

    run = await session.get(PurgeRun, run_id)
    return run.status, run.resumed


def test_a_failing_purge_is_recorded_as_failed_with_its_error_and_keeps_what_it_did(db, monkeypatch):
    from dataclasses import replace

    async def broken(session, cutoff, limit):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(data_classes(), "violations", replace(data_classes()["violations"], purge=broken))
    seed(db, "journey_events", T0 - period("journey_events") - DAY)  # purged before violations

    with freeze_time(T0, real_asyncio=True):
        run = purge(db)

    assert run.status == "failed" and run.error == "RuntimeError: disk on fire"
    assert run.deleted["journey_events"] == 1 and count(db, "journey_events") == 0
    assert run.finished_at == T0
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'retention.purge'") == 1

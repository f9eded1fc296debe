"""The daily purge under APScheduler: one purge per scheduled time however many instances run it."""

import asyncio
from datetime import UTC, datetime, time, timedelta
from time import sleep

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from freezegun import freeze_time
from litestar.testing import TestClient

from governance.app import create_app
from governance.core.clock import utcnow
from governance.core.db import create_engine
from governance.retention.models import PurgeRun
from governance.retention.scheduler import CATCH_UP_JOB, PURGE_JOB, build_scheduler, scheduled_purge
from tests.conftest import base_settings
from tests.integration.retention.seed import count, period, seed
from tests.integration.retention.test_api import slow_purge  # noqa: F401  (the fixture, reused)

DAY = timedelta(days=1)
FIRST_SLOT = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)


async def _wait_until(condition, seconds: float = 30) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting for the schedulers")


async def _two_instances_over_two_days(url: str) -> list[tuple[int, datetime, BaseException | None]]:
    settings = base_settings(url, purge_at_utc="03:00")
    engines = [create_engine(url) for _ in range(2)]
    schedulers = [build_scheduler(engine, settings) for engine in engines]
    executions: list[tuple[int, datetime, BaseException | None]] = []
    with freeze_time(FIRST_SLOT - timedelta(seconds=1), tick=True, real_asyncio=True) as clock:
        for instance, scheduler in enumerate(schedulers):
            scheduler.add_listener(
                lambda event, i=instance: (
                    event.job_id == PURGE_JOB and executions.append((i, event.scheduled_run_time, event.exception))
                ),
                EVENT_JOB_EXECUTED | EVENT_JOB_ERROR,
            )
            scheduler.start()
        await _wait_until(lambda: len(executions) == 2)
        clock.move_to(FIRST_SLOT + DAY)
        for scheduler in schedulers:
            scheduler.wakeup()
        await _wait_until(lambda: len(executions) == 4)
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
    for engine in engines:
        await engine.dispose()
    return executions


def test_two_instances_sharing_a_database_purge_once_per_scheduled_time(db):
    expired_on_day_one = FIRST_SLOT - period("violations") - DAY
    expires_before_day_two = FIRST_SLOT - period("violations") + timedelta(hours=12)
    seed(db, "violations", expired_on_day_one, expired_on_day_one, expires_before_day_two, FIRST_SLOT)

    executions = asyncio.run(_two_instances_over_two_days(db.url))

    assert sorted((i, at) for i, at, _ in executions) == [
        (0, FIRST_SLOT),
        (0, FIRST_SLOT + DAY),
        (1, FIRST_SLOT),
        (1, FIRST_SLOT + DAY),
    ]
    assert [error for *_, error in executions] == [None] * 4
    runs = db.run(_runs)
    assert [(run.slot, run.status, run.deleted["violations"]) for run in runs] == [
        ("2026-06-15T03:00Z", "succeeded", 2),
        ("2026-06-16T03:00Z", "succeeded", 1),
    ]
    assert count(db, "violations") == 1


def test_a_crashed_leaders_run_is_finished_by_another_instance(db):
    seed(db, "violations", FIRST_SLOT - period("violations") - DAY)
    db.run(_abandoned_run_for_first_slot)

    async def other_instance_catches_up() -> None:
        engine = create_engine(db.url)
        try:
            await scheduled_purge(engine, time(3, 0, tzinfo=UTC))
        finally:
            await engine.dispose()

    with freeze_time(FIRST_SLOT + timedelta(minutes=20), real_asyncio=True):
        asyncio.run(other_instance_catches_up())

    [run] = db.run(_runs)
    assert (run.slot, run.status, run.resumed, run.deleted["violations"]) == ("2026-06-15T03:00Z", "succeeded", 1, 1)
    assert count(db, "violations") == 0


def test_a_stopping_app_pauses_the_scheduled_purge_after_a_batch(db, slow_purge):  # noqa: F811
    seed(db, "violations", *[utcnow() - period("violations") - DAY] * 60)
    a_minute_ago = f"{(utcnow() - timedelta(minutes=1)):%H:%M}"  # the catch-up job claims that slot 2 s after start
    settings = base_settings(db.url, scheduler_enabled=True, purge_at_utc=a_minute_ago)

    with TestClient(create_app(settings)):
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while not slow_purge.ended:
            assert datetime.now(UTC) < deadline, "the catch-up job did not start the purge"
            sleep(0.02)

    assert slow_purge.begun == slow_purge.ended  # no batch was cancelled mid-transaction
    [run] = db.run(_runs)
    assert run.trigger == "scheduled" and run.status == "running" and 0 < run.deleted["violations"] < 60
    assert run.deleted["violations"] == 60 - count(db, "violations")


def test_the_app_runs_the_scheduler_only_where_it_is_enabled(db):
    with TestClient(create_app(base_settings(db.url, scheduler_enabled=True))) as client:
        scheduler = client.app.state["retention_scheduler"]
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert scheduler.running and set(jobs) == {PURGE_JOB, CATCH_UP_JOB}
        purge_job = jobs[PURGE_JOB]
        assert purge_job.coalesce and purge_job.max_instances == 1 and purge_job.misfire_grace_time > 0
        assert purge_job.next_run_time.hour == 3 and purge_job.next_run_time.minute == 0
    assert not scheduler.running

    with TestClient(create_app(base_settings(db.url, scheduler_enabled=False))) as client:
        assert "retention_scheduler" not in client.app.state


async def _abandoned_run_for_first_slot(session) -> None:
    from governance.retention.registry import data_classes

    cutoffs = {name: (FIRST_SLOT - period(name)).isoformat() for name in data_classes()}
    session.add(
        PurgeRun(
            slot="2026-06-15T03:00Z",
            trigger="scheduled",
            actor="scheduler",
            status="running",
            started_at=FIRST_SLOT,
            resumed=0,
            cutoffs=cutoffs,
            deleted=dict.fromkeys(cutoffs, 0),
            partitions_dropped=[],
        )
    )


async def _runs(session) -> list[PurgeRun]:
    from sqlalchemy import select

    return list(await session.scalars(select(PurgeRun).where(PurgeRun.actor != "seed").order_by(PurgeRun.id)))

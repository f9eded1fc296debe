"""The daily purge, and the scheduled live-site audits, on APScheduler 3 (AsyncIOScheduler), in the
app's lifespan or on its own.

Every instance may run a scheduler: the purge lock lets one of them work at a time, and the
purge-run row claimed per scheduled slot (unique) makes the second one to arrive a no-op.
A catch-up job, shortly after start and then every few minutes, finishes runs abandoned by a crashed instance and claims
today's slot if every instance missed it (within the misfire grace).

Audits (only when MS_AUDIT_URLS lists sites) follow the same one-per-slot rule: the audit-run row
claimed per slot is unique (governance.enforcement.audits), and a catch-up job claims a missed slot.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from governance.core.clock import utcnow
from governance.core.settings import SettingsError
from governance.enforcement import audits
from governance.retention import service

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from governance.core.settings import Settings

log = logging.getLogger(__name__)

MISFIRE_GRACE = timedelta(hours=6)
CATCH_UP_EVERY = timedelta(minutes=10)
CATCH_UP_AT_START = timedelta(seconds=2)  # an instance starting after a missed slot claims it at once, not in 10 min
PURGE_JOB, CATCH_UP_JOB = "retention.purge", "retention.catch-up"
AUDIT_JOB, AUDIT_CATCH_UP_JOB = "enforcement.audit", "enforcement.audit-catch-up"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def purge_time(settings: Settings) -> time:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", settings.purge_at_utc.strip())
    if not match:
        raise SettingsError(f"MS_PURGE_AT_UTC must be HH:MM (24-hour, UTC), not {settings.purge_at_utc!r}")
    return time(int(match[1]), int(match[2]), tzinfo=UTC)


def latest_slot(at: datetime, daily: time) -> datetime:
    """The most recent scheduled instant at or before `at`."""
    today = datetime.combine(at.astimezone(UTC).date(), daily)
    return today if today <= at else today - timedelta(days=1)


def slot_name(slot: datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%MZ")


async def scheduled_purge(engine: AsyncEngine, daily: time, purges: service.Background | None = None) -> None:
    """The daily job (and its catch-up): purge for the latest slot unless someone already did.
    Under `purges`, a stopping app pauses it after its batch in progress."""
    purges = purges or service.Background()
    slot = latest_slot(utcnow(), daily)
    if utcnow() - slot > MISFIRE_GRACE:  # too late for this slot: the next one will do
        await purges.run(lambda stopping: service.resume_abandoned(engine, stopping=stopping))
        return
    try:
        run = await purges.run(
            lambda stopping: service.purge(
                engine, trigger="scheduled", actor="scheduler", slot=slot_name(slot), stopping=stopping
            )
        )
    except service.PurgeBusy:
        log.info("purge for %s skipped: another instance holds the purge lock", slot_name(slot))
        return
    if run is not None:
        log.info("purge run %s for %s: %s, deleted %s", run.id, run.slot, run.status, run.deleted)


def audit_schedule(settings: Settings) -> audits.Schedule | None:
    """The audit schedule, or None when no site is to be audited; SettingsError when malformed."""
    return audits.Schedule.parse(settings.audit_schedule) if settings.audit_urls else None


def add_audit_jobs(scheduler: AsyncIOScheduler, engine: AsyncEngine, settings: Settings) -> None:
    schedule = audit_schedule(settings)
    if schedule is None:
        return
    if schedule.daily is not None:
        trigger = CronTrigger(hour=schedule.daily.hour, minute=schedule.daily.minute, timezone=UTC)
    else:
        assert schedule.every is not None
        trigger = IntervalTrigger(seconds=int(schedule.every.total_seconds()), start_date=EPOCH, timezone=UTC)
    grace = int(schedule.grace.total_seconds())
    args = [engine, settings, schedule]
    scheduler.add_job(
        audits.scheduled_audit, trigger, args=args, id=AUDIT_JOB, name="live-site audit", misfire_grace_time=grace
    )
    scheduler.add_job(
        audits.scheduled_audit,
        IntervalTrigger(seconds=int(CATCH_UP_EVERY.total_seconds()), timezone=UTC),
        args=args,
        id=AUDIT_CATCH_UP_JOB,
        name="live-site audit catch-up",
        misfire_grace_time=grace,
    )


def build_scheduler(
    engine: AsyncEngine, settings: Settings, purges: service.Background | None = None
) -> AsyncIOScheduler:
    """The jobs; their purges run under `purges`, whose `close` pauses them (before the scheduler's
    shutdown, which would cancel them mid-statement)."""
    daily = purge_time(settings)
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(MISFIRE_GRACE.total_seconds())},
    )
    scheduler.add_job(
        scheduled_purge,
        CronTrigger(hour=daily.hour, minute=daily.minute, timezone=UTC),
        args=[engine, daily, purges],
        id=PURGE_JOB,
        name="daily retention purge",
    )
    scheduler.add_job(
        scheduled_purge,
        IntervalTrigger(seconds=int(CATCH_UP_EVERY.total_seconds()), timezone=UTC),
        args=[engine, daily, purges],
        id=CATCH_UP_JOB,
        name="retention purge catch-up",
        next_run_time=utcnow() + CATCH_UP_AT_START,
    )
    add_audit_jobs(scheduler, engine, settings)
    return scheduler


async def run_forever(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    """`python -m governance scheduler`: the scheduler alone, until `stop` is set (SIGINT/SIGTERM)."""
    purges = service.Background()
    scheduler = build_scheduler(engine, settings, purges)
    scheduler.start()
    log.info("retention scheduler running: daily purge at %s UTC", settings.purge_at_utc)
    if settings.audit_urls:
        log.info("live-site audit of %d URL(s): %s", len(settings.audit_urls), settings.audit_schedule)
    try:
        await stop.wait()
    finally:
        await purges.close()
        scheduler.shutdown(wait=False)

"""Stored live-site audit runs: claiming a run, storing what it found (and its drift), listing and
reading runs, and the scheduled audit of the configured sites. No HTTP.

A run is stored as a row that says how it went (`running`, then `finished` or `failed`) with the
summary the list needs, and the whole `AuditRun` (without screenshots) for the detail. Scheduled
runs claim their slot (unique in `audit_runs`), so instances sharing a database audit once per
slot; a run that cannot launch a browser, or fails any other way, is stored as failed with the
reason: the scheduler itself never fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import msgspec
from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer

from governance.core import batches
from governance.core.clock import utcnow
from governance.core.errors import NotFound
from governance.core.params import Period
from governance.core.settings import Settings, SettingsError
from governance.enforcement import audit, drift
from governance.enforcement.allowlist import Deployment
from governance.enforcement.audit.model import AuditRun, ClaimResult, Finding, Sighting
from governance.enforcement.models import StoredAudit
from governance.enforcement.schemas import AuditRunDetail, AuditRunSummary, AuditStatus, ClaimCounts, ClaimsByStatus
from policy_docs import service as policy_service

log = logging.getLogger(__name__)

MISFIRE_GRACE = timedelta(hours=6)  # a slot missed by every instance is still audited this late
ABANDONED_AFTER = timedelta(hours=3)  # a run still `running` this long lost its instance
MIN_INTERVAL = timedelta(minutes=15)
SCHEDULED_ACTOR = "scheduler"
DRIFT_RULES = ("undeclared", "mismatch", "third_party")  # vendor findings are requests, not items to declare


# --- the schedule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """`HH:MM` (daily, UTC) or `every N minutes|hours` (slots aligned on the epoch, at least 15 minutes)."""

    daily: time | None = None
    every: timedelta | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        value = text.strip().lower()
        if match := re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value):
            return cls(daily=time(int(match[1]), int(match[2]), tzinfo=UTC))
        if match := re.fullmatch(r"every\s+(\d{1,5})\s*(m|min|minutes?|h|hours?)", value):
            every = timedelta(hours=int(match[1])) if match[2].startswith("h") else timedelta(minutes=int(match[1]))
            if every >= MIN_INTERVAL:
                return cls(every=every)
        raise SettingsError(
            f"MS_AUDIT_SCHEDULE must be HH:MM (daily, UTC) or `every N minutes|hours` (at least 15 minutes), not {text!r}"
        )

    def latest_slot(self, at: datetime) -> datetime:
        """The most recent scheduled instant at or before `at`."""
        if self.daily is not None:
            today = datetime.combine(at.astimezone(UTC).date(), self.daily)
            return today if today <= at else today - timedelta(days=1)
        assert self.every is not None
        step = int(self.every.total_seconds())
        return datetime.fromtimestamp(int(at.timestamp()) // step * step, UTC)

    @property
    def grace(self) -> timedelta:
        return MISFIRE_GRACE if self.every is None else min(MISFIRE_GRACE, self.every)


def slot_name(slot: datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%MZ")


# --- storing ----------------------------------------------------------------------------------------


class StoredAuditService(SQLAlchemyAsyncRepositoryService[StoredAudit]):
    class Repository(SQLAlchemyAsyncRepository[StoredAudit]):
        model_type = StoredAudit

    repository_type = Repository


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def claim(
    engine: AsyncEngine, urls: list[str], *, trigger: str, actor: str, slot: str | None = None
) -> int | None:
    """A `running` row for a new run; None when the slot is already someone else's."""
    try:
        async with sessions(engine)() as session, session.begin():
            row = StoredAudit(
                slot=slot, trigger=trigger, actor=actor, status="running", started_at=utcnow(), urls=list(urls),
                browser="", pages=0, pages_failed=0, findings=0, claims={},
            )  # fmt: skip
            session.add(row)
            await session.flush()
            return row.id
    except IntegrityError:  # another instance claimed this slot first
        return None


def report_of(run: AuditRun) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.to_builtins(run)
    for page in document["pages"]:
        page.pop("screenshot", None)  # large, and the live site is the evidence
    return document


def claim_ids(claims: list[ClaimResult]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {status: [] for status in ClaimCounts.__struct_fields__}
    for result in claims:
        found[result.status].append(result.id)
    return found


async def finish(engine: AsyncEngine, run_id: int, run: AuditRun) -> StoredAudit:
    """Store a run's results, and its findings as drift, in one transaction."""
    async with sessions(engine)() as session, session.begin():
        row = await session.get_one(StoredAudit, run_id)
        row.status, row.started_at, row.finished_at = "finished", run.started_at, run.finished_at
        row.urls, row.policy_version, row.browser = list(run.urls), run.policy_version, run.browser[:128]
        row.pages = len(run.pages)
        row.pages_failed = sum(1 for page in run.pages if page.status != "ok")
        row.findings = len(run.findings)
        row.drift, row.complete, row.exit_code = run.drift, run.complete, run.exit_code
        row.claims = claim_ids(run.claims)
        row.report = report_of(run)
        row.error = None
        await drift.observe(session, drift_sightings(run))
    return row


async def fail(engine: AsyncEngine, run_id: int, error: str) -> StoredAudit:
    async with sessions(engine)() as session, session.begin():
        row = await session.get_one(StoredAudit, run_id)
        row.status, row.finished_at, row.error = "failed", utcnow(), error[:4000]
    log.warning("audit run %s failed: %s", run_id, error)
    return row


def drift_sightings(run: AuditRun) -> list[drift.DriftSighting]:
    """What the run found that is an item: undeclared, mis-declared or stored by a third party."""
    by_item: dict[tuple[str, str, str], Sighting] = {(s.kind, s.name, s.host): s for s in run.sightings}
    return [
        drift.DriftSighting(
            kind=f.kind,
            name=f.name,
            reason=f.rule,
            source="audit",
            seen_at=run.finished_at,
            page=page,
            policy_version=run.policy_version,
            observed=_observed(f, by_item.get((f.kind, f.name, f.host))),
        )
        for f in run.findings
        if f.rule in DRIFT_RULES
        for page in f.pages[: drift.MAX_PAGES] or [""]
    ]


def _observed(finding: Finding, sighting: Sighting | None) -> dict[str, Any]:
    observed: dict[str, Any] = {"host": finding.host}
    if sighting is not None and sighting.kind == "cookie":
        observed.update(
            http_only=sighting.http_only,
            secure=sighting.secure,
            same_site=(sighting.same_site or "").lower() or None,
            path=sighting.path,
            domain=sighting.origin if sighting.origin.startswith(".") else None,
            lifetime_s=None if sighting.lifetime_s is None else int(sighting.lifetime_s),
        )
    return observed


async def run_and_store(
    engine: AsyncEngine,
    urls: list[str],
    policy: audit.AuditedPolicy,
    *,
    claims: list[audit.Claim],
    options: audit.AuditOptions,
    trigger: str,
    actor: str,
    slot: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[StoredAudit | None, AuditRun | None]:
    """Claim, audit and store. (None, None) when the slot was taken; a run that could not be done
    is stored as failed (its AuditRun is then None)."""
    run_id = await claim(engine, urls, trigger=trigger, actor=actor, slot=slot)
    if run_id is None:
        return None, None
    try:
        run = await audit.run_audit(urls, policy, claims=claims, options=options, progress=progress)
    except audit.BrowserMissing as exc:
        return await fail(engine, run_id, str(exc)), None
    except Exception as exc:  # stored, never raised into the scheduler
        log.exception("audit run %s could not run", run_id)
        return await fail(engine, run_id, f"{exc.__class__.__name__}: {exc}"), None
    return await finish(engine, run_id, run), run


# --- the scheduled audit ----------------------------------------------------------------------------


def scheduled_options(settings: Settings) -> audit.AuditOptions:
    return audit.AuditOptions(screenshots=False, require_secure=settings.cookie_secure)


async def scheduled_audit(
    engine: AsyncEngine, settings: Settings, schedule: Schedule, options: audit.AuditOptions | None = None
) -> StoredAudit | None:
    """The scheduled job (and its catch-up): audit `settings.audit_urls` for the latest slot, unless
    some instance already did. Never raises: what went wrong is the stored run's error."""
    now = utcnow()
    await fail_abandoned(engine, now)
    slot = schedule.latest_slot(now)
    if not settings.audit_urls or now - slot > schedule.grace or await slot_taken(engine, slot_name(slot)):
        return None
    try:
        policy = await policy_in_force(engine, settings)
        claims = audit.load_claims()
    except (LookupError, audit.ClaimsError) as exc:
        run_id = await claim(
            engine, list(settings.audit_urls), trigger="scheduled", actor=SCHEDULED_ACTOR, slot=slot_name(slot)
        )
        return None if run_id is None else await fail(engine, run_id, str(exc))
    stored, _ = await run_and_store(
        engine,
        list(settings.audit_urls),
        policy,
        claims=claims,
        options=options or scheduled_options(settings),
        trigger="scheduled",
        actor=SCHEDULED_ACTOR,
        slot=slot_name(slot),
    )
    if stored is not None:
        log.info("audit run %s for %s: %s, %s finding(s)", stored.id, stored.slot, stored.status, stored.findings)
    return stored


async def policy_in_force(engine: AsyncEngine, settings: Settings) -> audit.AuditedPolicy:
    """LookupError when no version is in force yet."""
    async with sessions(engine)() as session:
        snapshot = await policy_service.snapshot_at(session, utcnow())
    if snapshot is None:
        raise LookupError("no cookie policy is in force: nothing to audit against")
    return audit.policy_from_snapshot(Deployment.of(settings).snapshot(snapshot), source="this database")


async def slot_taken(engine: AsyncEngine, slot: str) -> bool:
    async with sessions(engine)() as session:
        return await session.scalar(select(StoredAudit.id).where(StoredAudit.slot == slot)) is not None


async def fail_abandoned(engine: AsyncEngine, now: datetime) -> None:
    """Runs still `running` long after any audit ends lost their instance: say so."""
    async with sessions(engine)() as session, session.begin():
        await session.execute(
            update(StoredAudit)
            .where(StoredAudit.status == "running", StoredAudit.started_at < now - ABANDONED_AFTER)
            .values(status="failed", finished_at=now, error="abandoned: the instance running it stopped")
            .execution_options(synchronize_session=False)
        )


# --- reading ------------------------------------------------------------------------------------------


def summary(row: StoredAudit) -> AuditRunSummary:
    counts = ClaimCounts(**{status: len(ids) for status, ids in (row.claims or {}).items()})
    return AuditRunSummary(
        id=row.id, slot=row.slot, trigger=row.trigger, actor=row.actor, status=_status(row.status),
        started_at=row.started_at, finished_at=row.finished_at, urls=list(row.urls), policy_version=row.policy_version,
        browser=row.browser, pages=row.pages, pages_failed=row.pages_failed, findings=row.findings, drift=row.drift,
        complete=row.complete, exit_code=row.exit_code, claims=counts, error=row.error,
    )  # fmt: skip


def _status(status: str) -> AuditStatus:
    return "running" if status == "running" else "finished" if status == "finished" else "failed"


def detail(row: StoredAudit) -> AuditRunDetail:
    run = None if row.report is None else msgspec.convert(row.report, AuditRun)
    claims = run.claims if run else []
    grouped = {status: [c for c in claims if c.status == status] for status in ClaimCounts.__struct_fields__}
    return AuditRunDetail(
        summary=summary(row),
        claims=ClaimsByStatus(**grouped),
        pages=run.pages if run else [],
        findings=run.findings if run else [],
        not_seen=run.not_seen if run else [],
        hosts=run.hosts if run else [],
        sightings=run.sightings if run else [],
        warnings=run.warnings if run else [],
    )


async def page_of_runs(
    session: AsyncSession, page: LimitOffset, period: Period, status: AuditStatus | None = None
) -> tuple[list[AuditRunSummary], int]:
    """Runs newest first (the report column is left unread); a period keeps the runs started in it."""
    where = period.overlaps(StoredAudit.started_at)
    if status is not None:
        where.append(StoredAudit.status == status)
    query = select(StoredAudit).options(defer(StoredAudit.report))
    rows, total = await StoredAuditService(session=session).get_many_and_count(
        page, OrderBy("started_at", "desc"), OrderBy("id", "desc"), *where, statement=query
    )
    return [summary(row) for row in rows], total


async def one_run(session: AsyncSession, run_id: int) -> AuditRunDetail:
    row = await session.get(StoredAudit, run_id)
    if row is None:
        raise NotFound(f"no audit run {run_id}")
    return detail(row)


# --- retention ------------------------------------------------------------------------------------------


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Stored runs started before `cutoff`, oldest first; a run still going is never purged."""
    return await batches.delete_oldest(
        session, StoredAudit, StoredAudit.started_at, cutoff, limit, StoredAudit.status != "running"
    )


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    return await batches.count_before(session, StoredAudit.started_at, cutoff, StoredAudit.status != "running")

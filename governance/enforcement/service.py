"""Violation rules: deduplicated recording (and drift), filtered listing, the intake's dropped-report
counts, and purges for retention. No HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import batches
from governance.core.params import Period
from governance.enforcement import drift
from governance.enforcement.models import DroppedReports, Violation
from governance.enforcement.schemas import DroppedReport, ViolationReport


def page_without_query(url: str) -> str:
    """Query strings and fragments can carry tokens or addresses: never store them."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))[:1024]


def _dedup_key(report: ViolationReport, at: datetime) -> str:
    hour = at.strftime("%Y%m%d%H")
    identity = "\x1f".join(
        str(part)
        for part in (
            report.source,
            report.kind,
            report.name,
            report.reason,
            report.mode,
            report.page,
            report.policy_version,
            hour,
        )
    )
    return hashlib.sha256(identity.encode()).hexdigest()


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


async def _add_counts(
    session: AsyncSession, model: type[Violation | DroppedReports], rows: Iterable[dict[str, Any]], *, latest: str
) -> None:
    """Insert each row, or add its count to the row with its `dedup_key` and move its `latest` instant
    on. One statement per distinct row: a batch rarely holds more than a few."""
    insert = _insert(session)
    for row in rows:
        statement = insert(model).values(**row)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[model.dedup_key],
                set_={"count": model.count + statement.excluded.count, latest: statement.excluded[latest]},
            )
        )


def drift_sighting(report: ViolationReport, at: datetime) -> drift.DriftSighting:
    observed = msgspec.to_builtins(report.observed) if report.observed else None
    if observed is None and report.source == "browser" and report.kind == "cookie":
        observed = {"http_only": False}  # page code set it: a script cannot set an HttpOnly cookie
    return drift.DriftSighting(
        kind=report.kind,
        name=report.name,
        reason=report.reason,
        source=report.source,
        seen_at=at,
        page=report.page,
        policy_version=report.policy_version,
        observed=observed,
    )


async def record(session: AsyncSession, reports: Iterable[ViolationReport]) -> int:
    """Store reports, folding repeats of the same finding within the hour into one row's count, and
    fold them into drift. Returns how many reports were recorded."""
    rows: dict[str, dict] = {}
    sightings = []
    now = datetime.now(UTC)
    for report in reports:
        at = report.occurred_at or now
        sightings.append(drift_sighting(report, at))
        key = _dedup_key(report, at)
        if key in rows:
            rows[key]["count"] += 1
            rows[key]["last_seen_at"] = max(rows[key]["last_seen_at"], at)
            continue
        rows[key] = {
            "dedup_key": key, "occurred_at": at, "last_seen_at": at, "source": report.source, "kind": report.kind,
            "name": report.name, "reason": report.reason, "detail": report.detail, "mode": report.mode, "page": report.page,
            "user_agent": report.user_agent, "policy_version": report.policy_version, "count": 1,
        }  # fmt: skip
    if not rows:
        return 0
    await _add_counts(session, Violation, rows.values(), latest="last_seen_at")
    await drift.observe(session, sightings)
    return sum(row["count"] for row in rows.values())


# --- reports the intake dropped -------------------------------------------------------------------


async def record_dropped(session: AsyncSession, dropped: Iterable[DroppedReport]) -> int:
    """Count refused reports per hour, rule and (item rule) page origin, kind and name."""
    counts: dict[str, dict[str, Any]] = {}
    for report in dropped:
        hour = report.at.replace(minute=0, second=0, microsecond=0)
        identity = (hour.isoformat(), report.rule, report.page_origin, report.kind, report.name)
        key = hashlib.sha256("\x1f".join(identity).encode()).hexdigest()
        row = counts.setdefault(key, {
            "dedup_key": key, "hour": hour, "rule": report.rule, "page_origin": report.page_origin[:255],
            "kind": report.kind[:32], "name": report.name[:255], "count": 0, "last_dropped_at": report.at,
        })  # fmt: skip
        row["count"] += 1
        row["last_dropped_at"] = max(row["last_dropped_at"], report.at)
    await _add_counts(session, DroppedReports, counts.values(), latest="last_dropped_at")
    return sum(row["count"] for row in counts.values())


async def page_of_dropped(session: AsyncSession, page: LimitOffset, period: Period) -> tuple[list[DroppedReports], int]:
    """Dropped-report counts, latest hour first; a period keeps the hours that start in it."""
    within = []
    if period.since is not None:
        within.append(DroppedReports.hour >= period.since.replace(minute=0, second=0, microsecond=0))
    if period.until is not None:
        within.append(DroppedReports.hour < period.until)
    found, total = await DroppedReportsService(session=session).get_many_and_count(
        page, OrderBy("hour", "desc"), OrderBy("count", "desc"), OrderBy("id", "desc"), *within
    )
    return list(found), total


class DroppedReportsService(SQLAlchemyAsyncRepositoryService[DroppedReports]):
    class Repository(SQLAlchemyAsyncRepository[DroppedReports]):
        model_type = DroppedReports

    repository_type = Repository


class ViolationService(SQLAlchemyAsyncRepositoryService[Violation]):
    class Repository(SQLAlchemyAsyncRepository[Violation]):
        model_type = Violation

    repository_type = Repository


async def list_violations(
    session: AsyncSession, page: LimitOffset | None = None, period: Period | None = None, **equal: str | None
) -> list[Violation]:
    """The newest violations (first page by default), with the same filters as `page_of_violations`."""
    return (await page_of_violations(session, page or LimitOffset(1000, 0), period or Period(None, None), **equal))[0]


async def page_of_violations(
    session: AsyncSession, page: LimitOffset, period: Period, **equal: str | None
) -> tuple[list[Violation], int]:
    """A page of the violation log, most recently seen first, and how many match. A period keeps the
    findings seen during it (last seen after `since`, first seen before `until`)."""
    overlapping = period.overlaps(Violation.occurred_at, Violation.last_seen_at)
    equal_to = [getattr(Violation, field) == value for field, value in equal.items() if value is not None]
    found, total = await ViolationService(session=session).get_many_and_count(
        page, OrderBy("last_seen_at", "desc"), OrderBy("id", "desc"), *overlapping, *equal_to
    )
    return list(found), total


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    dropped = await batches.count_before(session, DroppedReports.hour, cutoff)
    return await batches.count_before(session, Violation.occurred_at, cutoff) + dropped


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` violations first seen before `cutoff`, oldest first, then (room left in
    the batch) dropped-report counts of hours before it; returns how many rows went."""
    deleted = await batches.delete_oldest(session, Violation, Violation.occurred_at, cutoff, limit)
    if deleted < limit:
        deleted += await batches.delete_oldest(session, DroppedReports, DroppedReports.hour, cutoff, limit - deleted)
    return deleted

"""Violation rules: deduplicated recording, filtered listing, and purges for retention. No HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import batches
from governance.core.params import Period
from governance.enforcement.models import Violation
from governance.enforcement.schemas import ViolationReport


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


async def record(session: AsyncSession, reports: Iterable[ViolationReport]) -> int:
    """Store reports, folding repeats of the same finding within the hour into one row's count.
    Returns how many reports were recorded."""
    rows: dict[str, dict] = {}
    now = datetime.now(UTC)
    for report in reports:
        at = report.occurred_at or now
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
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    for row in rows.values():  # one statement per distinct finding; a batch rarely holds more than a few
        statement = insert(Violation).values(**row)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[Violation.dedup_key],
                set_={
                    "count": Violation.count + statement.excluded.count,
                    "last_seen_at": statement.excluded.last_seen_at,
                },
            )
        )
    return sum(row["count"] for row in rows.values())


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
    overlapping = []
    if period.since is not None:
        overlapping.append(Violation.last_seen_at >= period.since)
    if period.until is not None:
        overlapping.append(Violation.occurred_at < period.until)
    equal_to = [getattr(Violation, field) == value for field, value in equal.items() if value is not None]
    found, total = await ViolationService(session=session).get_many_and_count(
        page, OrderBy("last_seen_at", "desc"), OrderBy("id", "desc"), *overlapping, *equal_to
    )
    return list(found), total


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    return await batches.count_before(session, Violation.occurred_at, cutoff)


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` violations first seen before `cutoff`, oldest first; returns how many."""
    return await batches.delete_oldest(session, Violation, Violation.occurred_at, cutoff, limit)

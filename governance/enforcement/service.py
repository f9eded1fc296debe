"""Violation rules: deduplicated recording, filtered listing, and purges for retention. No HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

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


async def list_violations(
    session: AsyncSession,
    *,
    source: str | None = None,
    kind: str | None = None,
    name: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Violation]:
    query = select(Violation).order_by(Violation.last_seen_at.desc(), Violation.id.desc()).limit(limit).offset(offset)
    for column, value in (
        (Violation.source, source),
        (Violation.kind, kind),
        (Violation.name, name),
        (Violation.reason, reason),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Violation.last_seen_at >= since)
    if until is not None:
        query = query.where(Violation.occurred_at < until)
    return list(await session.scalars(query))


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Violation).where(Violation.occurred_at < cutoff)) or 0
    )


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` violations first seen before `cutoff`, oldest first; returns how many."""
    oldest = select(Violation.id).where(Violation.occurred_at < cutoff).order_by(Violation.id).limit(limit)
    result = await session.execute(delete(Violation).where(Violation.id.in_(oldest.scalar_subquery())))
    return int(result.rowcount or 0)

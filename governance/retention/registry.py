"""The data classes this service keeps, each with its default period, minimum and purge functions.

Every domain owns its tables: it exposes `purge…_before(session, cutoff, limit) -> rows` and
`count…_before(session, cutoff) -> rows`, and the registry only points at them. Order matters:
children before parents (tracking events before the email records they hang off).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from governance.core.batches import count_before, delete_oldest
from governance.retention.models import PurgeRun

PurgeFn = Callable[[AsyncSession, datetime, int], Awaitable[int]]
CountFn = Callable[[AsyncSession, datetime], Awaitable[int]]

YEAR = 365


@dataclass(frozen=True)
class Partitioning:
    """A table range-partitioned by month on PostgreSQL (migration 0006): expired months are dropped."""

    table: str
    column: str = "occurred_at"


@dataclass(frozen=True)
class DataClass:
    name: str
    description: str
    default_days: int
    minimum_days: int
    purge: PurgeFn
    count: CountFn
    partitioning: Partitioning | None = None


async def purge_runs_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """The purge log itself; a run still going is never purged."""
    return await delete_oldest(session, PurgeRun, PurgeRun.started_at, cutoff, limit, PurgeRun.status != "running")


async def count_purge_runs_before(session: AsyncSession, cutoff: datetime) -> int:
    return await count_before(session, PurgeRun.started_at, cutoff, PurgeRun.status != "running")


@cache
def data_classes() -> dict[str, DataClass]:
    """Built on first use, so importing retention never imports every domain."""
    from auth import service as auth
    from governance.core import audit
    from governance.enforcement import audits as audit_runs
    from governance.enforcement import drift
    from governance.enforcement import service as enforcement
    from tracking import events as tracking
    from tracking.journey import service as journey

    classes = [
        DataClass(
            "tracking_events",
            "email opens and clicks (client class, link index; no IP, no user agent)",
            YEAR,
            1,
            tracking.purge_events_before,
            tracking.count_events_before,
            Partitioning("tracking_events"),
        ),
        DataClass(
            "email_records",
            "email records' tracking data: recipient hashes and link destinations are erased, the record "
            "(decision, counts) stays; the period counts from registration",
            YEAR,
            1,
            tracking.purge_email_records_before,
            tracking.count_email_records_before,
        ),
        DataClass(
            "journey_events",
            "first-party journey analytics events (anonymous visitor and session ids, pages, first touch)",
            395,
            1,
            journey.purge_before,
            journey.count_before,
            Partitioning("journey_events"),
        ),
        DataClass(
            "violations",
            "undeclared or mis-declared cookie and storage writes seen by the guards, and the counts of "
            "browser reports the intake dropped",
            YEAR,
            1,
            enforcement.purge_before,
            enforcement.count_before,
        ),
        DataClass(
            "drift_items",
            "drift: each undeclared or mis-declared item with its sources, pages and dismissal; "
            "the period counts from when it was last seen",
            YEAR,
            1,
            drift.purge_before,
            drift.count_before,
        ),
        DataClass(
            "audit_runs",
            "stored live-site audit runs (pages, findings, claims; no screenshots); a run still going is kept",
            2 * YEAR,
            30,
            audit_runs.purge_before,
            audit_runs.count_before,
        ),
        DataClass(
            "revoked_tokens",
            "signed-out sessions' token ids; the period counts from the token's expiry",
            1,
            1,
            auth.purge_revoked_tokens_before,
            auth.count_revoked_tokens_before,
        ),
        DataClass(
            "login_failures",
            "failed sign-ins (keyed hash of the email) used for rate limiting",
            30,
            1,
            auth.purge_login_failures_before,
            auth.count_login_failures_before,
        ),
        DataClass(
            "audit_log",
            "who did what: publish, settings changes, exports, purges",
            7 * YEAR,
            5 * YEAR,
            audit.purge_before,
            audit.count_before,
        ),
        DataClass(
            "purge_runs",
            "this purge log",
            7 * YEAR,
            YEAR,
            purge_runs_before,
            count_purge_runs_before,
        ),
    ]
    return {data_class.name: data_class for data_class in classes}

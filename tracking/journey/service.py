"""Journey rules: turning a browser batch into stored events, erasure, and the retention hooks.

No HTTP here; rule violations raise governance.core.errors.Invalid naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit, batches
from governance.core.clock import utcnow
from governance.core.errors import BadRequest, FieldError, Invalid
from governance.core.params import Period
from tracking.journey.models import PAGE_TYPES, JourneyEvent, JourneySession
from tracking.journey.report import CSV_COLUMNS, build_report, report_rows  # noqa: F401  (the service's report API)
from tracking.journey.schemas import UUID_PATTERN, EventBatch, EventIn, FirstTouchIn
from tracking.journey.urls import BadUrl, reduce_url, referrer_host

DEFAULT_REPORT_DAYS = 30
_VISITOR_ID = re.compile(UUID_PATTERN)


def invalid(field: str, problem: str) -> Invalid:
    """Input that breaks a rule msgspec cannot express, naming the field."""
    return Invalid(f"{field} {problem}", errors=[FieldError(field, problem)])


FIRST_TOUCH_COLUMNS = ("ft_referrer", "ft_source", "ft_medium", "ft_campaign", "ft_term", "ft_content")


def _first_touch_columns(first_touch: FirstTouchIn | None) -> dict[str, str | None]:
    if first_touch is None:
        return dict.fromkeys(FIRST_TOUCH_COLUMNS)
    try:
        referrer = referrer_host(first_touch.referrer)
    except BadUrl as exc:
        raise invalid("first_touch.referrer", str(exc)) from exc
    return {
        "ft_referrer": referrer,
        "ft_source": first_touch.utm_source or None,
        "ft_medium": first_touch.utm_medium or None,
        "ft_campaign": first_touch.utm_campaign or None,
        "ft_term": first_touch.utm_term or None,
        "ft_content": first_touch.utm_content or None,
    }


def _event_columns(event: EventIn, where: str) -> dict[str, Any]:
    if (event.type == "step") != (event.step is not None):
        raise invalid(f"{where}.step", "is required on step events and not allowed on others")
    if event.type == "transition" and event.from_url is None:
        raise invalid(f"{where}.from_url", "is required on transition events")
    try:
        path, query = reduce_url(event.url)
    except BadUrl as exc:
        raise invalid(f"{where}.url", str(exc)) from exc
    try:
        from_path = reduce_url(event.from_url)[0] if event.from_url else None
    except BadUrl as exc:
        raise invalid(f"{where}.from_url", str(exc)) from exc
    return {"event_type": event.type, "path": path, "query": query, "from_path": from_path, "step": event.step}


def event_rows(batch: EventBatch, *, received_at: datetime) -> list[dict[str, Any]]:
    """All rows of a batch, or Invalid before any is stored (a batch is all or nothing)."""
    return [
        {
            "visitor_id": batch.visitor_id,
            "session_id": batch.session_id,
            **_event_columns(event, f"events[{index}]"),
            # The browser says how long ago, not when: its clock may be wrong, ours is not.
            "occurred_at": received_at - timedelta(milliseconds=event.age_ms),
        }
        for index, event in enumerate(batch.events)
    ]


def session_row(
    batch: EventBatch, events: list[dict[str, Any]], *, country: str | None, region: str | None
) -> dict[str, Any]:
    """What this batch says about its session: its span, first and last page, page count."""
    pages = [event for event in events if event["event_type"] in PAGE_TYPES]
    return {
        "session_id": batch.session_id,
        "visitor_id": batch.visitor_id,
        "started_at": min(event["occurred_at"] for event in events),
        "ended_at": max(event["occurred_at"] for event in events),
        "landing_path": min(pages, key=lambda e: e["occurred_at"])["path"] if pages else None,
        "exit_path": max(pages, key=lambda e: e["occurred_at"])["path"] if pages else None,
        "page_views": len(pages),
        "country": country,
        "region": region,
        **_first_touch_columns(batch.first_touch),
    }


@cache
def _upsert_session(dialect: str) -> Any:
    """Insert the session, or merge the batch into it: the earliest page lands, the latest exits.

    SQLite and PostgreSQL share `INSERT ... ON CONFLICT DO UPDATE` (SQLAlchemy spells it per
    dialect); the right-hand sides all read the row as it was, so the order of SET is free.
    Built once per dialect and run with the row as parameters: compiling it per batch cost
    more than the write.
    """
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_for(JourneySession)
    new, old = statement.excluded, JourneySession
    return statement.on_conflict_do_update(
        index_elements=[JourneySession.session_id],
        set_={
            "landing_path": case(
                (
                    and_(
                        new.landing_path.is_not(None), or_(old.landing_path.is_(None), new.started_at < old.started_at)
                    ),
                    new.landing_path,
                ),
                else_=old.landing_path,
            ),
            "exit_path": case(
                (
                    and_(new.exit_path.is_not(None), or_(old.exit_path.is_(None), new.ended_at >= old.ended_at)),
                    new.exit_path,
                ),
                else_=old.exit_path,
            ),
            "started_at": case((new.started_at < old.started_at, new.started_at), else_=old.started_at),
            "ended_at": case((new.ended_at > old.ended_at, new.ended_at), else_=old.ended_at),
            "page_views": old.page_views + new.page_views,
            "country": func.coalesce(old.country, new.country),
            "region": case((old.country.is_(None), new.region), else_=old.region),
        },
    )


async def record_batch(
    session: AsyncSession,
    batch: EventBatch,
    *,
    country: str | None = None,
    region: str | None = None,
    received_at: datetime | None = None,
) -> int:
    events = event_rows(batch, received_at=received_at or datetime.now(UTC))
    summary = session_row(batch, events, country=country, region=region)
    await session.execute(insert(JourneyEvent), events)
    await session.execute(_upsert_session(session.get_bind().dialect.name), summary)
    return len(events)


def check_visitor_id(visitor_id: str) -> str:
    if not _VISITOR_ID.fullmatch(visitor_id):
        raise BadRequest(
            "visitor id must be a lower-case UUID", errors=[FieldError("visitor_id", "must be a lower-case UUID")]
        )
    return visitor_id


async def _delete(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return batches.affected(result)


async def erase_visitor(session: AsyncSession, visitor_id: str, *, actor: str) -> tuple[int, int]:
    """Delete every event and session of one visitor, and record the erasure in the audit log."""
    check_visitor_id(visitor_id)
    events = await _delete(session, delete(JourneyEvent).where(JourneyEvent.visitor_id == visitor_id))
    sessions = await _delete(session, delete(JourneySession).where(JourneySession.visitor_id == visitor_id))
    await audit.record(
        session,
        actor=actor,
        action="journey.erase_visitor",
        subject=f"journey visitor {visitor_id}",
        events_deleted=events,
        sessions_deleted=sessions,
    )
    return events, sessions


def report_range(period: Period, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[since, until): until defaults to now, since to 30 days before until."""
    upper = period.until or now or utcnow()
    lower = period.since or upper - timedelta(days=DEFAULT_REPORT_DAYS)
    if lower >= upper:
        raise BadRequest("since must be before until", errors=[FieldError("since", "must be before until")])
    return lower, upper


def parse_steps(raw: str | None) -> Sequence[str] | None:
    if not raw:
        return None
    steps = [step.strip() for step in raw.split(",") if step.strip()]
    if len(steps) > 20 or len(set(steps)) != len(steps):
        raise BadRequest(
            "steps: up to 20 distinct step names, comma-separated",
            errors=[FieldError("steps", "up to 20 distinct step names, comma-separated")],
        )
    return steps


# Retention hooks (governance/retention calls these; nothing else should).


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` of the oldest rows older than `cutoff`: events first, then sessions
    that ended before it. Returns how many went."""
    purged = await batches.delete_oldest(session, JourneyEvent, JourneyEvent.occurred_at, cutoff, limit)
    if purged < limit:
        purged += await batches.delete_oldest(session, JourneySession, JourneySession.ended_at, cutoff, limit - purged)
    return purged


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    events = await batches.count_before(session, JourneyEvent.occurred_at, cutoff)
    return events + await batches.count_before(session, JourneySession.ended_at, cutoff)

"""Journey rules: turning a browser batch into stored events, erasure, and the retention hooks.

No HTTP here; rule violations raise governance.core.errors.Invalid naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from uuid import UUID

from sqlalchemy import and_, case, delete, func, or_
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
from tracking.spool import new_id

if TYPE_CHECKING:
    from sqlalchemy import Table

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


class EventRow(NamedTuple):
    """One stored event, as the spool keeps it (a tuple: cheap to encode). `event_id` makes a replay
    store it once."""

    event_id: UUID
    occurred_at: datetime
    event_type: str
    path: str
    query: str | None
    from_path: str | None
    step: str | None


class AcceptedBatch(NamedTuple):
    """A validated batch, reduced to what is stored, from its acceptance (the 202) to its load."""

    visitor_id: str
    session_id: str
    events: list[EventRow]
    country: str | None
    region: str | None
    first_touch: tuple[str | None, ...]  # FIRST_TOUCH_COLUMNS, in order


def _event_row(event: EventIn, where: str, received_at: datetime) -> EventRow:
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
    # The browser says how long ago, not when: its clock may be wrong, ours is not.
    occurred_at = received_at - timedelta(milliseconds=event.age_ms)
    return EventRow(new_id(), occurred_at, event.type, path, query, from_path, event.step)


def accept_batch(
    batch: EventBatch, *, received_at: datetime, country: str | None = None, region: str | None = None
) -> AcceptedBatch:
    """The whole batch reduced to its rows, or Invalid naming the field before anything is kept
    (a batch is all or nothing)."""
    events = [_event_row(event, f"events[{index}]", received_at) for index, event in enumerate(batch.events)]
    first_touch = _first_touch_columns(batch.first_touch)
    return AcceptedBatch(
        batch.visitor_id,
        batch.session_id,
        events,
        country,
        region,
        tuple(first_touch[column] for column in FIRST_TOUCH_COLUMNS),
    )


def event_rows(batch: EventBatch, *, received_at: datetime) -> list[dict[str, Any]]:
    """The rows of a batch's events (what `journey_events` gets), or Invalid before any is kept."""
    accepted = accept_batch(batch, received_at=received_at)
    return [_stored_event(accepted, event) for event in accepted.events]


def _stored_event(accepted: AcceptedBatch, event: EventRow) -> dict[str, Any]:
    return {"visitor_id": accepted.visitor_id, "session_id": accepted.session_id, **event._asdict()}


def session_row(accepted: AcceptedBatch) -> dict[str, Any]:
    """What one batch says about its session: its span, first and last page, page count."""
    events = accepted.events
    pages = [event for event in events if event.event_type in PAGE_TYPES]
    return {
        "session_id": accepted.session_id,
        "visitor_id": accepted.visitor_id,
        "started_at": min(event.occurred_at for event in events),
        "ended_at": max(event.occurred_at for event in events),
        "landing_path": min(pages, key=lambda e: e.occurred_at).path if pages else None,
        "exit_path": max(pages, key=lambda e: e.occurred_at).path if pages else None,
        "page_views": len(pages),
        "country": accepted.country,
        "region": accepted.region,
        **dict(zip(FIRST_TOUCH_COLUMNS, accepted.first_touch, strict=True)),
    }


@cache
def _insert_events(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (event_id, occurred_at) DO NOTHING RETURNING event_id: what was new."""
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    events = cast("Table", JourneyEvent.__table__)  # Core, not the ORM's bulk insert: plain rows in, ids out
    statement = insert_for(events).on_conflict_do_nothing(index_elements=["event_id", "occurred_at"])
    return statement.returning(events.c.event_id)


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


async def store_batches(session: AsyncSession, batches: Sequence[AcceptedBatch]) -> int:
    """Store accepted batches (one load of the spool): their events, and their sessions' rollup.

    The session upserts run one per batch, in the order the batches were accepted (an executemany:
    row by row on both drivers), so a load of many batches leaves exactly the rollup that storing
    them one by one would. A batch offered again (a replay after a crash) finds its events stored
    and adds nothing, to the events or to the rollup: a batch's events are stored together or not
    at all, so its first event says whether it is new. Returns how many events were new."""
    dialect = session.get_bind().dialect.name
    rows = [_stored_event(batch, event) for batch in batches for event in batch.events]
    new = set(await session.scalars(_insert_events(dialect), rows))
    summaries = [session_row(batch) for batch in batches if batch.events[0].event_id in new]
    if summaries:
        await session.execute(_upsert_session(dialect), summaries)
    return len(new)


async def record_batch(
    session: AsyncSession,
    batch: EventBatch,
    *,
    country: str | None = None,
    region: str | None = None,
    received_at: datetime | None = None,
) -> int:
    """Accept and store one batch in this transaction (seeding, tests); the route goes through the spool."""
    accepted = accept_batch(batch, received_at=received_at or utcnow(), country=country, region=region)
    return await store_batches(session, [accepted])


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

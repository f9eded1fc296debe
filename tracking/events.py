"""Tracking events: recording hits (loaded from the spool, many per transaction), reading them (per
email, per-domain report), and the retention purges of events and of email records' tracking data.
No HTTP here.

An event is recorded only if, at hit time, the email still records that kind, its domain still
allows it, the recipient has not been suppressed since registration and not erased (see
tracking.service). A hit offered twice (a replay of the spool) is stored once, by its id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from advanced_alchemy.filters import LimitOffset
from sqlalchemy import DateTime, Uuid, and_, column, delete, distinct, func, or_, select, table, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from governance.core import batches
from governance.core.db import create_engine, pool_options
from governance.core.errors import BadRequest, FieldError
from governance.core.settings import Settings
from governance.core.stores import Stores
from tracking import classify
from tracking import service as tracking_service
from tracking.models import EmailRecord, RecipientSuppression, SendingDomain, TrackedLink, TrackingEvent
from tracking.schemas import Counts, DailyStats, DomainReport, EventView, LinkClicksView, LinkCounts
from tracking.service import Kind, now
from tracking.spool_loader import ProcessLoad

# The database refusing these blames the items in hand, not itself: the spool sets them aside, no retry.
REFUSALS = (DataError, IntegrityError)

# --- recording hits (called by the spool's loader, one transaction per batch) ------------------


class Hit(NamedTuple):
    """One answered pixel fetch or link click, as the spool keeps it until it is in the database (a
    tuple: cheap on the hot path). The request is already reduced to a client class: the spool holds
    no address and no user agent."""

    hit_id: UUID
    kind: Kind
    email_id: int
    link_index: int | None
    at: datetime
    client_class: str
    reason: str


# The events table as plain columns, the same storage as the model, for the loader's insert.
EVENT_ROWS = table(
    TrackingEvent.__tablename__,
    column("hit_id", Uuid),
    column("occurred_at", DateTime(timezone=True)),
    column("email_id"),
    column("kind"),
    column("link_index"),
    column("client_class"),
    column("class_reason"),
)


# SQLite's INSERT takes the batch as one JSON array of rows in EVENT_ROWS' order (msgspec writes a
# UUID and an aware datetime as RFC 9562 / RFC 3339 text: `...T03:04:05.000007Z`, no fraction when
# it is zero) and converts them in SQL to what SQLAlchemy binds: a UUID as 32 hex digits, a time
# as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC. The fraction is cut off before strftime, which rounds it.
SQLITE_INSERT = """
INSERT INTO tracking_events (hit_id, occurred_at, email_id, kind, link_index, client_class, class_reason)
SELECT replace(hit_id, '-', ''),
       strftime('%Y-%m-%d %H:%M:%S', substr(at, 1, 19) || substr(at, CASE WHEN fraction THEN 27 ELSE 20 END))
         || CASE WHEN fraction THEN substr(at, 20, 7) ELSE '.000000' END,
       email_id, kind, link_index, client_class, class_reason
FROM (SELECT value ->> 0 AS hit_id, value ->> 1 AS at, substr(value ->> 1, 20, 1) = '.' AS fraction,
             value ->> 2 AS email_id, value ->> 3 AS kind, value ->> 4 AS link_index,
             value ->> 5 AS client_class, value ->> 6 AS class_reason
      FROM json_each(?))
WHERE true
ON CONFLICT (hit_id, occurred_at) DO NOTHING
"""  # WHERE true: SQLite's parser needs it before an upsert's ON CONFLICT


class EventInsert(NamedTuple):
    """The loader's INSERT of events, ON CONFLICT (hit_id, occurred_at) DO NOTHING, built once per
    dialect and run on the driver with the hits' own values: Core's per-row parameter processing
    cost more than SQLite's insert itself, and asyncpg takes UUIDs and aware datetimes as they are.
    A test checks that both engines store what the ORM would.

    SQLite takes the whole batch as one JSON parameter (`json_each`): an executemany binds each row
    holding the GIL and steps it without, so a batch of 2,000 rows took the GIL back 2,000 times
    from the event loop that answers the tracking routes; one statement takes it back once, and the
    conversions run in SQLite's C. PostgreSQL: asyncpg's executemany (on the loop, no thread)."""

    sql: str
    as_json: bool  # SQLite: one parameter, the rows as a JSON array of arrays

    @classmethod
    @cache
    def for_dialect(cls, dialect: Dialect) -> EventInsert:
        if dialect.name == "sqlite":
            return cls(SQLITE_INSERT, as_json=True)
        statement = postgresql_insert(EVENT_ROWS).on_conflict_do_nothing(index_elements=["hit_id", "occurred_at"])
        return cls(str(statement.compile(dialect=dialect)), as_json=False)

    async def execute(self, session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
        connection = await session.connection()
        if self.as_json:
            await connection.exec_driver_sql(self.sql, (msgspec.json.encode(rows).decode(),))
        else:
            await connection.exec_driver_sql(self.sql, rows)


def _recording_until(row: Any, kind: Kind, suppressed: set[tuple[UUID, str]]) -> datetime | bool:
    """Whether an email records hits of this kind now: True, False, or until when (stopped since)."""
    if kind == "open":
        active, stopped_at, domain_allows = row.opens_active, row.opens_stopped_at, row.domain_track_opens
    else:
        active, stopped_at, domain_allows = row.clicks_active, row.clicks_stopped_at, row.domain_track_clicks
    if (
        not domain_allows
        or row.recipient_erased_at is not None
        or any((row.account_id, key) in suppressed for key in (row.recipient_key, row.recipient_domain_key) if key)
    ):
        return False
    return True if active else stopped_at or False


def _recorded(hit: Hit, emails: dict[tuple[int, str], tuple[datetime | bool, datetime]]) -> bool:
    """Whether the hit's email recorded its kind when it happened."""
    until, _ = emails.get((hit.email_id, hit.kind), (False, None))
    return until is True or (until is not False and hit.at < until)


async def record_hits(session: AsyncSession, hits: Sequence[Hit], bursts: classify.BurstDetector) -> int:
    """Write the events of a batch of hits that are still allowed; returns how many it offered (a
    replayed hit is offered again and stored once)."""
    ids = {hit.email_id for hit in hits}
    rows = (
        await session.execute(
            select(
                EmailRecord.id,
                EmailRecord.account_id,
                EmailRecord.created_at,
                EmailRecord.recipient_key,
                EmailRecord.recipient_domain_key,
                EmailRecord.opens_active,
                EmailRecord.opens_stopped_at,
                EmailRecord.clicks_active,
                EmailRecord.clicks_stopped_at,
                EmailRecord.recipient_erased_at,
                SendingDomain.track_opens.label("domain_track_opens"),
                SendingDomain.track_clicks.label("domain_track_clicks"),
            )
            .join(SendingDomain, SendingDomain.id == EmailRecord.domain_id)
            .where(EmailRecord.id.in_(ids))
        )
    ).all()
    keys = {key for row in rows for key in (row.recipient_key, row.recipient_domain_key) if key}
    suppressed: set[tuple[UUID, str]] = set()
    if keys:
        suppressed = set(
            (
                await session.execute(
                    select(RecipientSuppression.account_id, RecipientSuppression.recipient_key).where(
                        RecipientSuppression.recipient_key.in_(keys)
                    )
                )
            ).tuples()
        )
    # (email id, kind) -> (recording until, registered at): decided once per batch, not per hit
    emails = {
        (row.id, kind): (_recording_until(row, kind, suppressed), row.created_at)
        for row in rows
        for kind in ("open", "click")
    }
    recorded = [hit for hit in hits if _recorded(hit, emails)]
    clicks = [(hit.email_id, hit.link_index or 0, hit.at) for hit in recorded if hit.kind == "click"]
    burst_starts = iter(await bursts.clicks(clicks))  # in the order of the clicks among `recorded`
    insert = EventInsert.for_dialect(session.get_bind().dialect)
    events, bursts_found = [], {}
    for hit in recorded:
        client_class, reason = hit.client_class, hit.reason
        if hit.kind == "click":
            burst_start = next(burst_starts)
            registered_at = emails[hit.email_id, hit.kind][1]
            verdict = classify.Verdict(client_class, reason)
            client_class, reason = classify.classify_timing(hit.kind, verdict, registered_at, hit.at, burst_start)
            if burst_start is not None:
                bursts_found[hit.email_id] = (burst_start, reason)
        events.append((hit.hit_id, hit.at, hit.email_id, hit.kind, hit.link_index, client_class, reason))
    if events:
        await insert.execute(session, events)
    for email_id, (start, reason) in bursts_found.items():  # the burst's earlier clicks were scanners too
        await session.execute(
            update(TrackingEvent)
            .where(
                TrackingEvent.email_id == email_id,
                TrackingEvent.kind == "click",
                TrackingEvent.occurred_at >= start,
                TrackingEvent.client_class != classify.SCANNER,
            )
            .values(client_class=classify.SCANNER, class_reason=reason)
        )
    return len(events)


def hit_recorder(
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]], bursts: classify.BurstDetector
) -> Callable[[list[Hit]], Awaitable[int]]:
    """The hit spool's load: record_hits, one transaction per batch."""

    async def record(batch: list[Hit]) -> int:
        async with sessions() as session, session.begin():
            return await record_hits(session, batch, bursts)

    return record


def loader_process(settings: Settings) -> ProcessLoad[Hit]:
    """The hit spool's load in its loader process (tracking.spool_loader, MS_SPOOL_LOADER=process),
    on an engine and a click-burst store of its own."""
    engine = create_engine(settings.database_url, **pool_options(settings))
    stores = Stores(settings)
    bursts = classify.BurstDetector(stores.registry.get(classify.BURST_STORE))

    async def close() -> None:
        await engine.dispose()
        await stores.close()

    return ProcessLoad(Hit, hit_recorder(async_sessionmaker(engine, expire_on_commit=False), bursts), REFUSALS, close)


# --- reading events ------------------------------------------------------------------------------

# Who counts as a person. Gmail's image proxy fetches the pixel when someone opens the message (it
# does not prefetch), so its opens are human opens, as Postmark and SendGrid count them; Apple Mail
# Privacy Protection prefetches whether or not anyone reads, and scanners are machines.
HUMAN_OPENERS = (classify.HUMAN, classify.GMAIL)
HUMAN_CLICKERS = (classify.HUMAN,)
MAX_DAYS = 400  # one daily series spans at most this many days
DEFAULT_DAYS = 30


def is_human(kind: Any, client_class: Any) -> Any:
    """SQL: the event was a person's (see HUMAN_OPENERS)."""
    return or_(
        and_(kind == "open", client_class.in_(HUMAN_OPENERS)),
        and_(kind == "click", client_class.in_(HUMAN_CLICKERS)),
    )


async def email_events(session: AsyncSession, email_id: int, page: LimitOffset) -> tuple[list[EventView], int]:
    """A page of an email's events, oldest first, and how many it has."""
    total = await session.scalar(select(func.count()).where(TrackingEvent.email_id == email_id)) or 0
    rows = await session.execute(
        select(TrackingEvent, TrackedLink.url)
        .outerjoin(
            TrackedLink,
            and_(TrackedLink.email_id == TrackingEvent.email_id, TrackedLink.link_index == TrackingEvent.link_index),
        )
        .where(TrackingEvent.email_id == email_id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    views = [
        EventView(
            occurred_at=e.occurred_at,
            kind=e.kind,
            link_index=e.link_index,
            url=url,
            client_class=e.client_class,
            reason=e.class_reason,
        )
        for e, url in rows
    ]
    return views, total


def _domain_events(domain: SendingDomain, since: datetime | None, until: datetime | None) -> Any:
    window = [EmailRecord.domain_id == domain.id]
    if since is not None:
        window.append(TrackingEvent.occurred_at >= since)
    if until is not None:
        window.append(TrackingEvent.occurred_at < until)
    return select(TrackingEvent).join(EmailRecord, EmailRecord.id == TrackingEvent.email_id).where(*window).subquery()


async def domain_report(
    session: AsyncSession, domain: SendingDomain, *, since: datetime | None, until: datetime | None
) -> DomainReport:
    """Opens, unique opens, clicks and clicks per link, raw and human-only side by side."""
    events = _domain_events(domain, since, until)
    human = is_human(events.c.kind, events.c.client_class)
    totals = await session.execute(
        select(events.c.kind, events.c.client_class, func.count()).group_by(events.c.kind, events.c.client_class)
    )
    by_class: dict[str, dict[str, int]] = {c: {"opens": 0, "clicks": 0} for c in classify.CLIENT_CLASSES}
    counts = {"open": Counts(), "click": Counts()}
    humans = {"open": HUMAN_OPENERS, "click": HUMAN_CLICKERS}
    for kind, client_class, count in totals:
        by_class.setdefault(client_class, {"opens": 0, "clicks": 0})[f"{kind}s"] += count
        counts[kind].raw += count
        if client_class in humans[kind]:
            counts[kind].human += count
    unique = {}
    for kind in ("open", "click"):
        raw, people = (
            await session.execute(
                select(
                    func.count(distinct(events.c.email_id)),
                    func.count(distinct(events.c.email_id)).filter(human),
                ).where(events.c.kind == kind)
            )
        ).one()
        unique[kind] = Counts(raw=raw, human=people)
    per_link = await session.execute(
        select(TrackedLink.url, events.c.link_index, func.count(), func.count().filter(human))
        .select_from(events)
        .outerjoin(
            TrackedLink, and_(TrackedLink.email_id == events.c.email_id, TrackedLink.link_index == events.c.link_index)
        )
        .where(events.c.kind == "click")
        .group_by(TrackedLink.url, events.c.link_index)
        .order_by(func.count().desc())
    )
    links: dict[tuple[str | None, int | None], Counts] = {}
    for url, index, raw, people in per_link:
        key = (url, None) if url is not None else (None, index)  # one row per destination across emails
        entry = links.setdefault(key, Counts())
        entry.raw += raw
        entry.human += people
    return DomainReport(
        domain=domain.name,
        since=since,
        until=until,
        opens=counts["open"],
        unique_opens=unique["open"],
        clicks=counts["click"],
        unique_clicks=unique["click"],
        by_client_class=by_class,
        links=[
            LinkCounts(url=url, link_index=index, clicks=c)
            for (url, index), c in sorted(links.items(), key=lambda i: -i[1].raw)
        ],
    )


def utc_day(column: Any, dialect: str) -> Any:
    """SQL: the UTC calendar day of an instant (SQLite stores UTC text; PostgreSQL converts)."""
    return func.date(func.timezone("UTC", column)) if dialect == "postgresql" else func.date(column)


def series_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until): until defaults to now, since to 30 days before; at most MAX_DAYS long."""
    upper = until or now()
    lower = since or upper - timedelta(days=DEFAULT_DAYS)
    if upper - lower > timedelta(days=MAX_DAYS):
        raise BadRequest(
            f"a daily series spans at most {MAX_DAYS} days",
            errors=[FieldError("since", f"must be at most {MAX_DAYS} days before until")],
        )
    return lower, upper


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def daily_series(
    session: AsyncSession, domain: SendingDomain, *, since: datetime | None, until: datetime | None
) -> list[DailyStats]:
    """One row per UTC day in [since, until), days without activity included."""
    lower, upper = series_range(since, until)
    dialect = session.get_bind().dialect.name
    events = _domain_events(domain, lower, upper)
    day, human = utc_day(events.c.occurred_at, dialect).label("day"), is_human(events.c.kind, events.c.client_class)
    activity = await session.execute(
        select(
            day,
            events.c.kind,
            func.count(),
            func.count().filter(human),
            func.count(distinct(events.c.email_id)),
            func.count(distinct(events.c.email_id)).filter(human),
        ).group_by(day, events.c.kind)
    )
    registered = utc_day(EmailRecord.created_at, dialect).label("day")
    sent = await session.execute(
        select(registered, func.count())
        .where(EmailRecord.domain_id == domain.id, EmailRecord.created_at >= lower, EmailRecord.created_at < upper)
        .group_by(registered)
    )
    figures: dict[tuple[str, str], tuple[int, int, int, int]] = {
        (str(d), kind): (raw, people, unique_raw, unique_people)
        for d, kind, raw, people, unique_raw, unique_people in activity
    }
    sent_on = {str(d): count for d, count in sent}
    days = []
    for offset in range((upper.date() - lower.date()).days + (1 if upper.time() != time.min else 0)):
        date = (lower.date() + timedelta(days=offset)).isoformat()
        opens, clicks, count = (
            figures.get((date, "open"), (0,) * 4),
            figures.get((date, "click"), (0,) * 4),
            sent_on.get(date, 0),
        )
        days.append(
            DailyStats(
                date=date,
                sent=count,
                opens_raw=opens[0],
                opens_human=opens[1],
                unique_opens_raw=opens[2],
                unique_opens_human=opens[3],
                clicks_raw=clicks[0],
                clicks_human=clicks[1],
                unique_clicks_raw=clicks[2],
                unique_clicks_human=clicks[3],
                open_rate_raw=_rate(opens[2], count),
                open_rate_human=_rate(opens[3], count),
                click_rate_raw=_rate(clicks[2], count),
                click_rate_human=_rate(clicks[3], count),
            )
        )
    return days


async def link_clicks(
    session: AsyncSession, domain: SendingDomain, *, since: datetime | None, until: datetime | None, page: LimitOffset
) -> tuple[list[LinkClicksView], int]:
    """Clicks per destination across the domain's emails, most clicked first, and how many destinations."""
    events = _domain_events(domain, since, until)
    human = is_human(events.c.kind, events.c.client_class)
    clicks = (
        select(
            TrackedLink.url,
            func.count().label("raw"),
            func.count().filter(human).label("human"),
            func.count(distinct(events.c.email_id)).label("unique_raw"),
            func.count(distinct(events.c.email_id)).filter(human).label("unique_human"),
        )
        .select_from(events)
        .outerjoin(
            TrackedLink, and_(TrackedLink.email_id == events.c.email_id, TrackedLink.link_index == events.c.link_index)
        )
        .where(events.c.kind == "click")
        .group_by(TrackedLink.url)
    )
    total = await session.scalar(select(func.count()).select_from(clicks.subquery())) or 0
    rows = await session.execute(
        clicks.order_by(func.count().desc(), TrackedLink.url).limit(page.limit).offset(page.offset)
    )
    return [
        LinkClicksView(url, raw, people, unique_raw, unique_people)
        for url, raw, people, unique_raw, unique_people in rows
    ], total


# --- retention (called by governance/retention) ------------------------------------------------


async def purge_events_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete at most `limit` tracking events older than `cutoff`, oldest first. Links keep
    redirecting: the redirect reads its destination from the signed token, never from a table."""
    return await batches.delete_oldest(session, TrackingEvent, TrackingEvent.occurred_at, cutoff, limit)


async def count_events_before(session: AsyncSession, cutoff: datetime) -> int:
    return await batches.count_before(session, TrackingEvent.occurred_at, cutoff)


async def purge_email_records_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Forget the recipient hashes and rewritten-link destinations of at most `limit` email records
    registered before `cutoff`; the record itself (decision, counts) stays for the reports."""
    unpurged = EmailRecord.tracking_data_purged_at.is_(None)
    oldest = select(EmailRecord.id).where(EmailRecord.created_at < cutoff, unpurged)
    ids = list(await session.scalars(oldest.order_by(EmailRecord.created_at).limit(limit)))
    if not ids:
        return 0
    await session.execute(delete(TrackedLink).where(TrackedLink.email_id.in_(ids)))
    await session.execute(
        update(EmailRecord)
        .where(EmailRecord.id.in_(ids))
        .values(recipient_key=None, recipient_domain_key=None, tracking_data_purged_at=now())
    )
    return len(ids)


async def count_email_records_before(session: AsyncSession, cutoff: datetime) -> int:
    return await batches.count_before(
        session, EmailRecord.created_at, cutoff, EmailRecord.tracking_data_purged_at.is_(None)
    )


async def overview(
    session: AsyncSession, page: LimitOffset, *, since: datetime | None, until: datetime | None
) -> tuple[list[DomainReport], int]:
    """Staff: every account's domains, by name, each with its opens and clicks in the period."""
    domains, total = await tracking_service.list_domains(session, None, page)
    return [await domain_report(session, d, since=since, until=until) for d in domains], total

"""Tracking events: recording hits (group commit), reading them (per email, per-domain report),
and the retention purges of events and of email records' tracking data. No HTTP here.

An event is recorded only if, at hit time, the email still records that kind, its domain still
allows it and the recipient has not been suppressed since registration (see tracking.service).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import DateTime, and_, column, delete, distinct, func, insert, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import batches
from tracking import classify
from tracking.models import EmailRecord, RecipientSuppression, SendingDomain, TrackedLink, TrackingEvent
from tracking.schemas import Counts, DomainReport, EventView, LinkCounts
from tracking.service import Kind, now

# --- recording hits (called by the recorder, one transaction per batch) ------------------------


class Hit(NamedTuple):
    """One answered pixel fetch or link click, queued for the recorder (a tuple: cheap on the hot path)."""

    kind: Kind
    email_id: int
    link_index: int | None
    at: datetime
    user_agent: str
    network: str | None  # what classification needs of the client address; the address itself is not kept


# The events table as plain columns: a Core executemany without ORM bookkeeping or per-row
# DateTimeUTC conversion (the times are already aware UTC datetimes). Same storage as the model.
EVENT_ROWS = table(
    TrackingEvent.__tablename__,
    column("occurred_at", DateTime(timezone=True)),
    column("email_id"),
    column("kind"),
    column("link_index"),
    column("client_class"),
    column("class_reason"),
)


def _recording_until(row: Any, kind: Kind, suppressed: set[tuple[UUID, str]]) -> datetime | bool:
    """Whether an email records hits of this kind now: True, False, or until when (stopped since)."""
    if kind == "open":
        active, stopped_at, domain_allows = row.opens_active, row.opens_stopped_at, row.domain_track_opens
    else:
        active, stopped_at, domain_allows = row.clicks_active, row.clicks_stopped_at, row.domain_track_clicks
    if not domain_allows or any(
        (row.account_id, key) in suppressed for key in (row.recipient_key, row.recipient_domain_key) if key
    ):
        return False
    return True if active else stopped_at or False


async def record_hits(session: AsyncSession, hits: Sequence[Hit], bursts: classify.BurstDetector) -> int:
    """Write the events of a batch of hits that are still allowed; returns how many were written."""
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
    events, bursts_found = [], {}
    for hit in hits:
        until, registered_at = emails.get((hit.email_id, hit.kind), (False, None))
        if until is not True and (until is False or hit.at >= until):
            continue
        verdict = classify.classify_agent(hit.kind, hit.user_agent, hit.network)
        burst_start = bursts.click(hit.email_id, hit.link_index or 0, hit.at) if hit.kind == "click" else None
        verdict = classify.classify_timing(hit.kind, verdict, registered_at, hit.at, burst_start)
        if burst_start is not None:
            bursts_found[hit.email_id] = (burst_start, verdict.reason)
        events.append(
            {
                "occurred_at": hit.at,
                "email_id": hit.email_id,
                "kind": hit.kind,
                "link_index": hit.link_index,
                "client_class": verdict.client_class,
                "class_reason": verdict.reason,
            }
        )
    if events:
        await session.execute(insert(EVENT_ROWS), events)
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


# --- reading events ------------------------------------------------------------------------------


async def email_events(session: AsyncSession, email_id: int, *, limit: int = 500) -> list[EventView]:
    rows = await session.execute(
        select(TrackingEvent, TrackedLink.url)
        .outerjoin(
            TrackedLink,
            and_(TrackedLink.email_id == TrackingEvent.email_id, TrackedLink.link_index == TrackingEvent.link_index),
        )
        .where(TrackingEvent.email_id == email_id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
        .limit(limit)
    )
    return [
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


async def domain_report(
    session: AsyncSession, domain: SendingDomain, *, since: datetime | None, until: datetime | None
) -> DomainReport:
    """Opens, unique opens, clicks and clicks per link, raw and human-only side by side."""
    window = [EmailRecord.domain_id == domain.id]
    if since is not None:
        window.append(TrackingEvent.occurred_at >= since)
    if until is not None:
        window.append(TrackingEvent.occurred_at < until)
    events = select(TrackingEvent).join(EmailRecord, EmailRecord.id == TrackingEvent.email_id).where(*window).subquery()
    human = events.c.client_class == classify.HUMAN
    totals = await session.execute(
        select(events.c.kind, events.c.client_class, func.count(), func.count(distinct(events.c.email_id))).group_by(
            events.c.kind, events.c.client_class
        )
    )
    by_class: dict[str, dict[str, int]] = {c: {"opens": 0, "clicks": 0} for c in classify.CLIENT_CLASSES}
    counts = {"open": Counts(), "click": Counts()}
    for kind, client_class, count, _ in totals:
        by_class.setdefault(client_class, {"opens": 0, "clicks": 0})[f"{kind}s"] += count
        counts[kind].raw += count
        if client_class == classify.HUMAN:
            counts[kind].human += count
    unique = {}
    for kind in ("open", "click"):
        raw, humans = (
            await session.execute(
                select(
                    func.count(distinct(events.c.email_id)),
                    func.count(distinct(events.c.email_id)).filter(human),
                ).where(events.c.kind == kind)
            )
        ).one()
        unique[kind] = Counts(raw=raw, human=humans)
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
    for url, index, raw, humans in per_link:
        key = (url, None) if url is not None else (None, index)  # one row per destination across emails
        entry = links.setdefault(key, Counts())
        entry.raw += raw
        entry.human += humans
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

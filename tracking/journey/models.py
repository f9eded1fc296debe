"""Journey data: the raw events, and one summary row per session kept current at ingest.

`journey_events` grows without bound: a BigInt `id` and an indexed `occurred_at` let the
retention helper partition it by time on PostgreSQL, so nothing holds a foreign key into it.
`journey_sessions` is the rollup the report reads (about a tenth of the rows): landing and
exit page, page count, coarse geo and the visitor's first touch. Anonymous: never an IP.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

PAGE_TYPES = ("page_view", "transition")  # both show a page: landing and exit pages count them


class JourneyEvent(BigIntBase):
    __tablename__ = "journey_events"
    __table_args__ = (
        Index("ix_journey_events_step_occurred_at", "step", "occurred_at"),  # the funnel reads steps only
        # an event replayed from the spool is stored once, and its session counted once
        Index("uq_journey_events_event_id", "event_id", "occurred_at", unique=True),
    )

    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    event_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)  # given at ingest; None before 0011
    visitor_id: Mapped[str] = mapped_column(String(36), index=True)
    session_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(512))
    query: Mapped[str | None] = mapped_column(String(512), default=None)  # allowed keys only
    from_path: Mapped[str | None] = mapped_column(String(512), default=None)
    step: Mapped[str | None] = mapped_column(String(64), default=None)


class JourneySession(BigIntBase):
    __tablename__ = "journey_sessions"

    session_id: Mapped[str] = mapped_column(String(36), unique=True)
    visitor_id: Mapped[str] = mapped_column(String(36), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    ended_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    landing_path: Mapped[str | None] = mapped_column(String(512), default=None)
    exit_path: Mapped[str | None] = mapped_column(String(512), default=None)
    page_views: Mapped[int] = mapped_column(Integer, default=0)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    region: Mapped[str | None] = mapped_column(String(8), default=None)
    ft_referrer: Mapped[str | None] = mapped_column(String(255), default=None)  # a host name, no path
    ft_source: Mapped[str | None] = mapped_column(String(100), default=None)
    ft_medium: Mapped[str | None] = mapped_column(String(100), default=None)
    ft_campaign: Mapped[str | None] = mapped_column(String(100), default=None)
    ft_term: Mapped[str | None] = mapped_column(String(100), default=None)
    ft_content: Mapped[str | None] = mapped_column(String(100), default=None)

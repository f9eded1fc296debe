"""Sending domains and their tracking settings, recipient suppressions, email records, tracked links
and tracking events."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import BigIntAuditBase, BigIntBase, UUIDAuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class SendingDomain(UUIDAuditBase):
    """A domain an account sends from; tracking is off until the account turns it on."""

    __tablename__ = "sending_domains"

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    track_opens: Mapped[bool] = mapped_column(default=False)
    track_clicks: Mapped[bool] = mapped_column(default=False)
    track_text_links: Mapped[bool] = mapped_column(default=False)
    # destinations never rewritten: a host and its subdomains
    excluded_link_hosts: Mapped[list[str]] = mapped_column(JsonB, default=list)


class RecipientSuppression(UUIDAuditBase):
    """An address (`address`) or a whole recipient domain (`domain`) never tracked by this account.

    Stored as a keyed hash (HMAC-SHA256), never in the clear."""

    __tablename__ = "tracking_suppressions"
    __table_args__ = (UniqueConstraint("account_id", "recipient_key"),)

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    recipient_key: Mapped[str] = mapped_column(String(64))


class EmailRecord(BigIntAuditBase):
    """One registered email and the tracking decision fixed when it was registered.

    `*_decided` is that decision, `*_decided_by` the level that took it (recipient_address,
    recipient_domain, domain, email), `*_overridden` whether the email asked for more than it
    got. `*_active` is whether hits are still recorded; turning it off sets `*_stopped_at`."""

    __tablename__ = "email_records"

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    domain_id: Mapped[UUID] = mapped_column(ForeignKey("sending_domains.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(998))
    # keyed hashes of the recipient's address and domain; emptied by the retention purge
    recipient_key: Mapped[str | None] = mapped_column(String(64))
    recipient_domain_key: Mapped[str | None] = mapped_column(String(64))
    opens_requested: Mapped[bool | None]
    opens_decided: Mapped[bool]
    opens_decided_by: Mapped[str] = mapped_column(String(24))
    opens_overridden: Mapped[bool] = mapped_column(default=False)
    opens_active: Mapped[bool]
    opens_stopped_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    clicks_requested: Mapped[bool | None]
    clicks_decided: Mapped[bool]
    clicks_decided_by: Mapped[str] = mapped_column(String(24))
    clicks_overridden: Mapped[bool] = mapped_column(default=False)
    clicks_active: Mapped[bool]
    clicks_stopped_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    link_count: Mapped[int] = mapped_column(Integer, default=0)
    tracking_data_purged_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # set by a data-subject erasure: no hit is recorded for this email any more, however late it arrives
    recipient_erased_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    __table_args__ = (
        Index("ix_email_records_created_at", "created_at"),
        # found by Message-ID (equality only): a hash index on PostgreSQL has no key-size limit
        Index("ix_email_records_message_id", "message_id", postgresql_using="hash"),
    )


class TrackedLink(BigIntBase):
    """A rewritten link's destination, for reports (the redirect itself reads the signed token)."""

    __tablename__ = "tracked_links"
    __table_args__ = (UniqueConstraint("email_id", "link_index"),)

    email_id: Mapped[int] = mapped_column(ForeignKey("email_records.id", ondelete="CASCADE"))
    link_index: Mapped[int] = mapped_column(Integer)
    part: Mapped[str] = mapped_column(String(8))  # html | text
    url: Mapped[str] = mapped_column(Text)


class TrackingEvent(BigIntBase):
    """An open or click. Grows without bound: partitioned by `occurred_at` on PostgreSQL by the
    retention migration, so nothing holds a foreign key into it, and it holds none either (no IP,
    no user agent: only the client class and why)."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        Index("ix_tracking_events_email_id_occurred_at", "email_id", "occurred_at"),
        # a hit replayed from the spool is stored once (a unique index on PostgreSQL partitions must hold the key)
        Index("uq_tracking_events_hit_id", "hit_id", "occurred_at", unique=True),
    )

    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    hit_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)  # given when answered; None before 0011
    email_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # open | click
    link_index: Mapped[int | None] = mapped_column(Integer)
    client_class: Mapped[str] = mapped_column(String(24))
    class_reason: Mapped[str] = mapped_column(String(120))

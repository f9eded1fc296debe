"""Request and response bodies of the tracking routes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class DomainCreate(msgspec.Struct):
    domain: str


class DomainTracking(msgspec.Struct):
    """A domain's tracking settings; the most an email from it can be tracked."""

    track_opens: bool
    track_clicks: bool
    track_text_links: bool = False
    excluded_link_hosts: list[str] = msgspec.field(default_factory=list)


class DomainView(msgspec.Struct):
    domain: str
    account_id: UUID
    tracking: DomainTracking


class EmailCreate(msgspec.Struct):
    domain: str
    recipient: str
    message_id: str
    html: str | None = None
    text: str | None = None
    # None: whatever the domain allows; False: this email opts out; True: asks for it (recorded as
    # overridden when a stricter level refuses)
    track_opens: bool | None = None
    track_clicks: bool | None = None
    list_unsubscribe: str | None = None  # the List-Unsubscribe header value; its targets are never rewritten


class KindDecision(msgspec.Struct):
    decided: bool  # fixed when the email was registered
    decided_by: str  # recipient_address | recipient_domain | domain | email
    overridden: bool  # the email asked for tracking a stricter level refused
    active: bool  # hits are recorded now
    stopped_at: datetime | None = None


class EmailTracking(msgspec.Struct):
    email_id: int
    message_id: str
    domain: str
    opens: KindDecision
    clicks: KindDecision


class SkippedLinkView(msgspec.Struct):
    url: str
    reason: str


class EmailRegistered(msgspec.Struct):
    id: int
    tracking: EmailTracking
    html: str | None
    text: str | None
    links_tracked: int
    links_skipped: list[SkippedLinkView]


class EmailTrackingPatch(msgspec.Struct):
    track_opens: bool | None = None
    track_clicks: bool | None = None


class EventView(msgspec.Struct):
    occurred_at: datetime
    kind: str
    link_index: int | None
    url: str | None
    client_class: str
    reason: str


class Counts(msgspec.Struct):
    raw: int = 0
    human: int = 0


class LinkCounts(msgspec.Struct):
    url: str | None  # None once the email's link data was purged
    link_index: int | None
    clicks: Counts


class DomainReport(msgspec.Struct):
    domain: str
    since: datetime | None
    until: datetime | None
    opens: Counts
    unique_opens: Counts
    clicks: Counts
    unique_clicks: Counts
    by_client_class: dict[str, dict[str, int]]
    links: list[LinkCounts]


class SuppressionCreate(msgspec.Struct):
    recipient: str  # an address (`someone@bank.example`) or a whole domain (`bank.example`)


class SuppressionView(msgspec.Struct):
    id: UUID
    kind: str
    created_at: datetime

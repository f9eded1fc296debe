"""Request and response bodies of the tracking routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from governance.core.schemas import Input

DomainName = Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
Hosts = Annotated[list[DomainName], msgspec.Meta(max_length=200)]


class DomainCreate(Input):
    domain: DomainName


class DomainTracking(Input):
    """A domain's tracking settings; the most an email from it can be tracked."""

    track_opens: bool
    track_clicks: bool
    track_text_links: bool = False
    excluded_link_hosts: Hosts = msgspec.field(default_factory=list)


class DomainTrackingPatch(Input):
    """Only the fields sent change."""

    track_opens: bool | None = None
    track_clicks: bool | None = None
    track_text_links: bool | None = None
    excluded_link_hosts: Hosts | None = None


class DomainView(msgspec.Struct):
    domain: str
    account_id: UUID
    tracking: DomainTracking


class EmailCreate(Input):
    domain: DomainName
    recipient: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=998)]
    html: str | None = None
    text: str | None = None
    # None: whatever the domain allows; False: this email opts out; True: asks for it (recorded as
    # overridden when a stricter level refuses)
    track_opens: bool | None = None
    track_clicks: bool | None = None
    list_unsubscribe: Annotated[str, msgspec.Meta(max_length=4096)] | None = (
        None  # the List-Unsubscribe header value; its targets are never rewritten
    )


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


class EmailTrackingPatch(Input):
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


class SuppressionCreate(Input):
    recipient: Annotated[
        str, msgspec.Meta(min_length=1, max_length=320)
    ]  # an address (`someone@bank.example`) or a whole domain (`bank.example`)


class SuppressionView(msgspec.Struct):
    id: UUID
    kind: str
    created_at: datetime


class SuppressionRemoved(msgspec.Struct):
    removed: bool

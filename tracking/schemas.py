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


class EmailView(msgspec.Struct):
    """A registered email as the dashboard lists it."""

    id: int
    message_id: str
    domain: str
    registered_at: datetime
    link_count: int
    opens: KindDecision
    clicks: KindDecision
    recipient_erased_at: datetime | None = None


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


class RecipientErase(Input):
    recipient: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]  # the address whose data goes


class RecipientErased(msgspec.Struct):
    """What an erasure removed from the account's email records."""

    emails: int  # email records that held the recipient's hashes (they stay, without them)
    events_deleted: int
    links_deleted: int


class LinkClicksView(msgspec.Struct):
    url: str | None  # None: links whose destinations were purged by retention
    clicks_raw: int
    clicks_human: int
    unique_clicks_raw: int  # emails with at least one click on the link
    unique_clicks_human: int


DAILY_COLUMNS = (
    "date",
    "sent",
    "opens_raw",
    "opens_human",
    "unique_opens_raw",
    "unique_opens_human",
    "clicks_raw",
    "clicks_human",
    "unique_clicks_raw",
    "unique_clicks_human",
    "open_rate_raw",
    "open_rate_human",
    "click_rate_raw",
    "click_rate_human",
)
LINK_COLUMNS = ("url", "clicks_raw", "clicks_human", "unique_clicks_raw", "unique_clicks_human")


class DailyStats(msgspec.Struct):
    """One UTC day of a domain: emails registered that day and the events that happened that day.
    Rates: unique emails opened (clicked) that day per email registered that day; null without any."""

    date: str
    sent: int
    opens_raw: int
    opens_human: int
    unique_opens_raw: int
    unique_opens_human: int
    clicks_raw: int
    clicks_human: int
    unique_clicks_raw: int
    unique_clicks_human: int
    open_rate_raw: float | None
    open_rate_human: float | None
    click_rate_raw: float | None
    click_rate_human: float | None

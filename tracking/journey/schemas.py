"""Bodies of the journey routes. msgspec turns a shape error into a 400 naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
STEP_PATTERN = r"^[a-z][a-z0-9_.:-]{0,63}$"
MAX_EVENTS_PER_BATCH = 50
MAX_BATCH_BYTES = 64 * 1024

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refused here, naming the field, not by the database

JourneyId = Annotated[str, Meta(pattern=UUID_PATTERN, description="a random UUID, lower case")]
Url = Annotated[str, Meta(min_length=1, max_length=2048, pattern=NO_NUL)]
StepName = Annotated[str, Meta(pattern=STEP_PATTERN)]
Utm = Annotated[str, Meta(max_length=100, pattern=NO_NUL, description="stored as sent: up to 100 characters")]
AgeMs = Annotated[int, Meta(ge=0, le=86_400_000, description="how long ago the event happened, in ms")]
EventType = Literal["page_view", "transition", "step"]


class EventIn(msgspec.Struct, forbid_unknown_fields=True):
    type: EventType
    url: Url
    from_url: Url | None = None  # the previous page: a transition's origin, or a same-site referrer
    step: StepName | None = None  # only on `step` events
    age_ms: AgeMs = 0


class FirstTouchIn(msgspec.Struct, forbid_unknown_fields=True):
    referrer: Url | None = None
    utm_source: Utm | None = None
    utm_medium: Utm | None = None
    utm_campaign: Utm | None = None
    utm_term: Utm | None = None
    utm_content: Utm | None = None


class EventBatch(msgspec.Struct, forbid_unknown_fields=True):
    visitor_id: JourneyId
    session_id: JourneyId
    events: Annotated[list[EventIn], Meta(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]
    first_touch: FirstTouchIn | None = None


class IngestResult(msgspec.Struct):
    accepted: int


class PageCount(msgspec.Struct):
    path: str
    sessions: int


class Attribution(msgspec.Struct):
    source: str
    medium: str
    campaign: str
    visitors: int


class FunnelStep(msgspec.Struct):
    step: str
    visitors: int
    drop_off: int  # visitors of the previous step who did not reach this one


class CountryCount(msgspec.Struct):
    country: str
    visitors: int


class DayCount(msgspec.Struct):
    date: str  # a UTC day, YYYY-MM-DD
    sessions: int
    visitors: int


class JourneyReport(msgspec.Struct):
    since: datetime
    until: datetime
    visitors: int = 0
    sessions: int = 0
    page_views: int = 0
    landing_pages: list[PageCount] = msgspec.field(default_factory=list)
    exit_pages: list[PageCount] = msgspec.field(default_factory=list)
    attribution: list[Attribution] = msgspec.field(default_factory=list)
    funnel: list[FunnelStep] = msgspec.field(default_factory=list)
    countries: list[CountryCount] = msgspec.field(default_factory=list)
    # sessions (and visitors) per UTC day they started; days without any are included when the
    # range is at most 400 days
    daily: list[DayCount] = msgspec.field(default_factory=list)


class ErasureResult(msgspec.Struct):
    visitor_id: str
    events_deleted: int
    sessions_deleted: int

"""Enforcement's msgspec structs: violation reports (browser and server) and API views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from policy_docs.schemas import DeclarationKind

Source = Literal["server", "browser"]
Mode = Literal["enforce", "report"]
# A declared kind, or "api": a browser API the policy promises is not used (guard.js: geolocation).
ReportKind = Literal[DeclarationKind, "api"]
BrowserReason = Literal[
    "undeclared", "http_only", "secure", "same_site", "domain", "path", "duration", "promised_absent"
]


class ViolationReport(msgspec.Struct, frozen=True, kw_only=True):
    """One undeclared or mis-declared write, as the guards see it. Never a cookie or storage value."""

    source: Source
    kind: ReportKind
    name: str
    reason: str  # undeclared | http_only | secure | same_site | domain | path | duration | promised_absent
    mode: Mode
    page: str  # path (server) or page URL without query (browser)
    detail: str = ""
    user_agent: str = ""
    policy_version: int | None = None
    occurred_at: datetime | None = None  # set by the recorder when None


class BrowserReport(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """The body guard.js sends with `navigator.sendBeacon` (as text/plain, so no CORS preflight)."""

    kind: ReportKind
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    page: Annotated[str, msgspec.Meta(max_length=2048)]
    mode: Mode
    reason: BrowserReason = "undeclared"
    user_agent: Annotated[str, msgspec.Meta(max_length=512)] = ""


class ViolationView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    occurred_at: datetime
    last_seen_at: datetime
    source: str
    kind: str
    name: str
    reason: str
    detail: str
    mode: str
    page: str
    user_agent: str
    policy_version: int | None
    count: int


VIOLATION_COLUMNS = tuple(ViolationView.__struct_fields__)

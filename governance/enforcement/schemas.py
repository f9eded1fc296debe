"""Enforcement's msgspec structs: violation reports (browser, server, request), drift, stored audits, API views.

No `from __future__ import annotations` (as in policy_docs.schemas): msgspec would resolve the
annotations lazily, and under freezegun `datetime` would then be FakeDatetime.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from governance.core.schemas import Input
from governance.enforcement.audit.model import ClaimResult, Finding, HostSummary, NotSeen, PageResult, Sighting
from policy_docs.schemas import DeclarationKind

Source = Literal["server", "browser", "request"]  # Set-Cookie guard, guard.js, Cookie request headers
Mode = Literal["enforce", "report"]
# A declared kind, or "api": a browser API the policy promises is not used (guard.js: geolocation).
ReportKind = Literal[DeclarationKind, "api"]
BrowserReason = Literal[
    "undeclared", "http_only", "secure", "same_site", "domain", "path", "duration", "promised_absent"
]


class ObservedCookie(msgspec.Struct, frozen=True, kw_only=True):
    """A cookie's attributes as a guard or an audit saw them (never its value): what a draft declaring it starts from."""

    http_only: bool | None = None
    secure: bool | None = None
    same_site: str | None = None  # lax | strict | none, lower case
    domain: str | None = None
    path: str | None = None
    lifetime_s: int | None = None  # None: a session cookie


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
    observed: ObservedCookie | None = None  # server: the Set-Cookie's attributes (kept on the drift item only)


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


# --- dropped reports ------------------------------------------------------------------------------


class DroppedReport(msgspec.Struct, frozen=True, kw_only=True):
    """A browser report refused by a limit of the intake, queued to be counted (never its sender)."""

    rule: Literal["item", "client"]
    at: datetime
    page_origin: str = ""  # item rule only: the sender chooses everything a client-rule report says
    kind: str = ""
    name: str = ""


class DroppedReportsView(msgspec.Struct, frozen=True, kw_only=True):
    hour: datetime
    rule: str
    page_origin: str
    kind: str
    name: str
    count: int
    last_dropped_at: datetime


# --- drift ----------------------------------------------------------------------------------------

DriftSource = Literal["server", "request", "browser", "audit"]
DriftStatus = Literal["open", "dismissed"]


class DriftItemView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    name: str
    status: DriftStatus  # dismissed until seen again after the dismissal
    reasons: list[str]
    sources: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    count: int
    pages: list[str]
    policy_version: int | None  # the version it was last seen under
    declared_in_force: bool  # a declaration in force matches it (then it is mis-declared, or seen by an old version)
    declared_by_drafts: list[str]  # ids of drafts that declare it now
    observed: dict[str, Any] | None  # a cookie's attributes as last seen (never its value)
    dismissed_at: datetime | None
    dismissed_by: str | None
    dismissal_reason: str | None


class DriftDismissal(Input, kw_only=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, description="Why this is not drift")]


# --- stored audit runs ----------------------------------------------------------------------------

AuditStatus = Literal["running", "finished", "failed"]


class ClaimCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many of the policy's claims held, broke, could not be observed, or are not machine-checkable yet."""

    held: int = 0
    broken: int = 0
    not_observed: int = 0
    manual: int = 0


class ClaimsByStatus(msgspec.Struct, frozen=True, kw_only=True):
    held: list[ClaimResult] = msgspec.field(default_factory=list)
    broken: list[ClaimResult] = msgspec.field(default_factory=list)
    not_observed: list[ClaimResult] = msgspec.field(default_factory=list)  # checkable, but nothing to check it on
    manual: list[ClaimResult] = msgspec.field(default_factory=list)  # not machine-checkable yet: confirm by review


class AuditRunSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    slot: str | None
    trigger: str
    actor: str
    status: AuditStatus
    started_at: datetime
    finished_at: datetime | None
    urls: list[str]
    policy_version: int | None
    browser: str
    pages: int
    pages_failed: int
    findings: int
    drift: bool | None  # None until finished
    complete: bool | None
    exit_code: int | None  # as the CLI's: 0 clean, 1 drift, 2 incomplete
    claims: ClaimCounts
    error: str | None


class AuditRunDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A stored run in full (empty lists while it runs or when it failed)."""

    summary: AuditRunSummary
    claims: ClaimsByStatus
    pages: list[PageResult]  # screenshots are not stored
    findings: list[Finding]
    not_seen: list[NotSeen]
    hosts: list[HostSummary]
    sightings: list[Sighting]
    warnings: list[str]


class AllowlistEntry(msgspec.Struct, omit_defaults=True):
    """One declared name; the attributes the policy does not pin are left out."""

    name: str
    match: Literal["exact", "prefix"]
    duration: Literal["seconds", "session", "persistent"]
    max_age: int | None = None  # seconds, for duration "seconds"
    http_only: bool | None = None
    secure: bool | None = None
    same_site: Literal["lax", "strict", "none"] | None = None
    domain: str | None = None
    path: str | None = None


class AllowlistDocument(msgspec.Struct):
    """What may be stored under the version in force, per kind, for guards and proxies of other apps."""

    policy_version: int | None  # None only for a static allowlist not taken from a published version
    content_hash: str
    mode: str  # the deployment's guard mode: enforce, report or off
    require_secure: bool  # the deployment requires Secure on every cookie
    cookie: list[AllowlistEntry]
    local_storage: list[AllowlistEntry]
    session_storage: list[AllowlistEntry]

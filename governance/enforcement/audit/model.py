"""What an audit run is made of: plain msgspec Structs, JSON-serialisable as they are.

`AuditRun` holds everything a stored run needs; `msgspec.json.encode(run)` is its JSON
(screenshots, bytes, encode as base64).
"""

from datetime import datetime
from typing import Literal

import msgspec

from policy_docs.schemas import Declaration

SightingKind = Literal["cookie", "local_storage", "session_storage", "indexed_db", "cache_storage", "service_worker"]
Party = Literal["first", "third"]
PageStatus = Literal["ok", "http_error", "failed", "crashed"]
ClaimCheck = Literal[
    "audit:vendors",
    "audit:beacons",
    "audit:geolocation",
    "audit:third_party_cookies",
    "declarations:http_only",
    "manual",
]
FindingRule = Literal["undeclared", "mismatch", "third_party", "vendor"]
ClaimStatus = Literal["held", "broken", "not_observed", "manual"]


class AuditOptions(msgspec.Struct, kw_only=True, frozen=True):
    settle_s: float = 2.0  # after the network is idle, before the first snapshot
    second_look_s: float = 5.0  # a second snapshot this long after the first; 0: none
    crawl: int = 0  # follow same-site links, up to this many pages beyond the given ones
    timeout_s: float = 20.0  # per navigation, and per wait for the network to be idle
    first_party_hosts: tuple[str, ...] = ()  # beside the audited sites (e.g. an API host)
    require_secure: bool = False  # the deployment requires Secure on every cookie
    screenshots: bool = True
    har_path: str | None = None  # write every request and response as a HAR file
    chromium: str = "/usr/bin/chromium"
    chromium_args: tuple[str, ...] = ()
    connect: str | None = None  # audit in a running Chromium (its DevTools endpoint) instead of launching one


class AuditedPolicy(msgspec.Struct, kw_only=True, frozen=True):
    """The policy a site is audited against. `sections` (id -> text) is None when unknown."""

    declarations: list[Declaration]
    number: int | None = None
    source: str = ""  # e.g. "database" or the allowlist's URL
    not_used: list[str] = msgspec.field(default_factory=list)
    sections: dict[str, str] | None = None


class Claim(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    id: str
    section: str
    text: str
    check: ClaimCheck
    cookies: list[str] = msgspec.field(default_factory=list)  # declarations:http_only


class Sighting(msgspec.Struct, kw_only=True):
    """One thing the browser stored, as distinct from every other: a cookie set twice with other
    attributes, or by another host, is two sightings."""

    kind: SightingKind
    name: str  # cookie name, storage key, database or cache name, service worker scope
    host: str  # cookie domain (without the leading dot) or the storage origin's host
    origin: str  # cookie: its domain as stored (".example.com" when a Domain attribute was set); else the origin
    pages: list[str]  # audited pages where it was seen
    frame: str = ""  # storage: the URL of the frame whose storage holds it
    partition: str | None = None  # partitioned cookie or storage: the top-level site it is keyed to
    after_load_s: float = 0.0  # first seen this long after its page's load event
    # cookies only
    path: str | None = None
    http_only: bool | None = None
    secure: bool | None = None
    same_site: str | None = None
    lifetime_s: float | None = None  # None: a session cookie


class HostSummary(msgspec.Struct, kw_only=True):
    host: str
    party: Party
    requests: int
    methods: list[str]
    types: list[str]
    pages: list[str]
    vendor: str | None = None  # vendor id (vendors.toml) when known


class Finding(msgspec.Struct, kw_only=True):
    """Drift: something seen that the policy does not allow."""

    rule: FindingRule
    kind: str  # a SightingKind, or "request"
    name: str  # the item's name, or the vendor's name
    host: str
    pages: list[str]
    reasons: list[str] = msgspec.field(default_factory=list)
    urls: list[str] = msgspec.field(default_factory=list)  # vendor: example requests


class NotSeen(msgspec.Struct, kw_only=True):
    kind: str
    name: str
    match: str


class ClaimResult(msgspec.Struct, kw_only=True):
    id: str
    section: str
    text: str
    check: ClaimCheck
    status: ClaimStatus
    evidence: list[str] = msgspec.field(default_factory=list)
    in_policy: bool | None = None  # the version in force still says it (None: the policy's text is unknown)


class PageResult(msgspec.Struct, kw_only=True):
    url: str
    requested: bool  # given by the auditor (False: found by crawling)
    status: PageStatus
    started_at: datetime
    finished_at: datetime
    final_url: str | None = None
    http_status: int | None = None
    error: str | None = None
    site: str | None = None  # registrable domain (or host), as Chromium computes it
    snapshots: int = 0
    geolocation: bool | None = None  # the page called the Geolocation API (None: not observable)
    screenshot: bytes | None = None  # JPEG
    notes: list[str] = msgspec.field(default_factory=list)


class AuditRun(msgspec.Struct, kw_only=True):
    started_at: datetime
    finished_at: datetime
    urls: list[str]
    policy_version: int | None
    policy_source: str
    options: AuditOptions
    browser: str  # Chromium's version
    pages: list[PageResult]
    sightings: list[Sighting]
    hosts: list[HostSummary]
    findings: list[Finding]
    not_seen: list[NotSeen]
    claims: list[ClaimResult]
    drift: bool  # findings, or a broken claim
    complete: bool  # every page could be audited
    warnings: list[str] = msgspec.field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 drift, 2 could not audit (a page failed; the report still lists any drift)."""
        if not self.complete:
            return 2
        return 1 if self.drift else 0

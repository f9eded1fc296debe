"""Enforcement's tables: the violation log and the reports its intake dropped, stored live-site
audit runs, and drift (every undeclared or mis-declared item, whichever guard or audit saw it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class Violation(BigIntBase):
    """One finding per (source, kind, name, reason, mode, page, policy version) and hour.

    Repeats within the hour only raise `count` and `last_seen_at`: a page load (or a busy
    route) cannot flood the table.
    """

    __tablename__ = "violations"

    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)  # first seen
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    source: Mapped[str] = mapped_column(String(16), index=True)  # server | browser | request
    kind: Mapped[str] = mapped_column(String(32))  # cookie | local_storage | session_storage
    name: Mapped[str] = mapped_column(String(255), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")
    mode: Mapped[str] = mapped_column(String(16))  # enforce (blocked) | report (let through)
    page: Mapped[str] = mapped_column(String(1024), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    policy_version: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=1)


class DroppedReports(BigIntBase):
    """Browser reports the intake refused (rate limits), counted per hour and rule; never who sent them.

    `rule` is `item` (one page origin repeating one kind and name) or `client` (one client address,
    whatever it reports: then only the count is kept, the names being the sender's to invent).
    """

    __tablename__ = "violation_drops"

    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    hour: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    rule: Mapped[str] = mapped_column(String(16))
    page_origin: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_dropped_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class StoredAudit(BigIntBase):
    """One live-site audit run: the summary columns the list shows, and the run itself (`report`).

    `slot` names the scheduled time a run belongs to (unique: one run per slot across instances);
    runs started from the CLI have none. `status`: running | finished (the audit ran: see `drift`
    and `complete`) | failed (it could not run: `error` says why, e.g. no browser).
    """

    __tablename__ = "audit_runs"

    slot: Mapped[str | None] = mapped_column(String(32), unique=True)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | cli
    actor: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    urls: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    browser: Mapped[str] = mapped_column(String(128), default="")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    drift: Mapped[bool | None] = mapped_column(Boolean)
    complete: Mapped[bool | None] = mapped_column(Boolean)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    claims: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)  # claim status -> [claim ids]
    error: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JsonB)  # the AuditRun, without screenshots


class DriftItem(BigIntBase):
    """An undeclared or mis-declared item, whatever saw it: the Set-Cookie guard, request cookies,
    browser reports, audits. One row per (kind, name), kept current as sightings arrive.

    Dismissed until seen again: `dismissed_at` at or after `last_seen_at` means dismissed.
    """

    __tablename__ = "drift_items"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    kind: Mapped[str] = mapped_column(String(32))  # a declaration kind, or indexed_db | cache_storage | service_worker
    name: Mapped[str] = mapped_column(String(255))
    reasons: Mapped[list[Any]] = mapped_column(JsonB, default=list)  # undeclared, http_only, duration, third_party ...
    sources: Mapped[list[Any]] = mapped_column(JsonB, default=list)  # server | request | browser | audit
    first_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[list[Any]] = mapped_column(JsonB, default=list)  # the most recent distinct pages, newest last
    policy_version: Mapped[int | None] = mapped_column(Integer)  # the version it was last seen under
    observed: Mapped[dict[str, Any] | None] = mapped_column(JsonB)  # a cookie's attributes, last seen
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    dismissed_by: Mapped[str | None] = mapped_column(String(320))
    dismissal_reason: Mapped[str | None] = mapped_column(String(500))

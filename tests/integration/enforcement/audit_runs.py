"""Audit runs made by hand (no browser): what a live-site audit would have found, for storage and drift tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from governance.core.db import create_engine
from governance.enforcement import audits
from governance.enforcement.audit.model import (
    AuditOptions,
    AuditRun,
    ClaimResult,
    Finding,
    PageResult,
    Sighting,
)

PAGE = "https://mailssetu.in/"


def cookie_sighting(name: str, *, http_only: bool, host: str = "mailssetu.in", lifetime_s: float | None = 86400.0):
    return Sighting(
        kind="cookie", name=name, host=host, origin=host, pages=[PAGE], path="/", http_only=http_only, secure=True,
        same_site="Lax", lifetime_s=lifetime_s,
    )  # fmt: skip


def claim(claim_id: str, status: str) -> ClaimResult:
    check = "manual" if status == "manual" else "audit:vendors"
    return ClaimResult(id=claim_id, section="s", text=f"claim {claim_id}", check=check, status=status)  # type: ignore[arg-type]


def a_run(*, at: datetime | None = None) -> AuditRun:
    """One page; an undeclared cookie, ms_access stored without HttpOnly, an IndexedDB database, a vendor."""
    started = at or datetime.now(UTC)
    sightings = [
        cookie_sighting("audit_cookie", http_only=False, lifetime_s=30 * 86400.0),
        cookie_sighting("ms_access", http_only=False),
        Sighting(kind="indexed_db", name="tracker_db", host="mailssetu.in", origin=PAGE, pages=[PAGE]),
    ]
    findings = [
        Finding(rule="undeclared", kind="cookie", name="audit_cookie", host="mailssetu.in", pages=[PAGE], reasons=["not in the policy's declarations"]),
        Finding(rule="mismatch", kind="cookie", name="ms_access", host="mailssetu.in", pages=[PAGE], reasons=["HttpOnly must be set"]),
        Finding(rule="undeclared", kind="indexed_db", name="tracker_db", host="mailssetu.in", pages=[PAGE], reasons=["the policy declares no indexed db at all"]),
        Finding(rule="vendor", kind="request", name="Mixpanel", host="api-js.mixpanel.com", pages=[PAGE], reasons=["the policy says"]),
    ]  # fmt: skip
    page = PageResult(
        url=PAGE, requested=True, status="ok", started_at=started, finished_at=started + timedelta(seconds=2),
        http_status=200, screenshot=b"\xff\xd8 a jpeg",
    )  # fmt: skip
    return AuditRun(
        started_at=started, finished_at=started + timedelta(seconds=3), urls=[PAGE], policy_version=1,
        policy_source="this database", options=AuditOptions(), browser="Chromium/131", pages=[page],
        sightings=sightings, hosts=[], findings=findings, not_seen=[],
        claims=[claim("no-vendors", "broken"), claim("no-geo", "held"), claim("beacons", "not_observed"),
                claim("fingerprinting", "manual")],
        drift=True, complete=True,
    )  # fmt: skip


def store_run(url: str, run: AuditRun, *, trigger: str = "cli", slot: str | None = None) -> int:
    async def go() -> int:
        engine = create_engine(url)
        try:
            run_id = await audits.claim(engine, run.urls, trigger=trigger, actor=trigger, slot=slot)
            assert run_id is not None
            await audits.finish(engine, run_id, run)
            return run_id
        finally:
            await engine.dispose()

    return asyncio.run(go())

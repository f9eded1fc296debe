"""Stored audit runs: the API (summary with claims, detail by claim status), the scheduled job's
rules (one run per slot, a run that cannot launch a browser is stored as failed), retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from litestar.testing import TestClient
from sqlalchemy import select

from governance.app import create_app
from governance.core.db import create_engine
from governance.core.settings import SettingsError
from governance.enforcement import audits
from governance.enforcement.audit import AuditOptions
from governance.enforcement.models import StoredAudit
from governance.retention.registry import data_classes
from governance.retention.scheduler import AUDIT_CATCH_UP_JOB, AUDIT_JOB, PURGE_JOB, build_scheduler
from tests.conftest import base_settings
from tests.integration.enforcement.audit_runs import PAGE, a_run, store_run

NO_BROWSER = AuditOptions(chromium="/nonexistent/chromium", screenshots=False)
SITE = ("https://mailssetu.in/",)
SLOT = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)


def scheduled(url: str, options: AuditOptions = NO_BROWSER, **settings) -> StoredAudit | None:
    """The scheduled job as an instance runs it, at the current (test) time."""

    async def go() -> StoredAudit | None:
        engine = create_engine(url)
        try:
            chosen = base_settings(url, audit_urls=SITE, **settings)
            return await audits.scheduled_audit(engine, chosen, audits.Schedule.parse(chosen.audit_schedule), options)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def runs(db) -> list[StoredAudit]:
    return db.run(lambda s: s.scalars(select(StoredAudit).order_by(StoredAudit.id))).all()


def test_a_stored_run_is_listed_with_its_claims_and_shown_in_full(client, db, login_as):
    run_id = store_run(db.url, a_run())
    login_as("auditor")

    listing = client.get("/api/audits").json()
    detail = client.get(f"/api/audits/{run_id}").json()

    [summary] = listing["items"]
    assert listing["total"] == 1
    assert (summary["status"], summary["trigger"], summary["pages"], summary["findings"], summary["drift"]) == (
        "finished", "cli", 1, 4, True,
    )  # fmt: skip
    assert summary["claims"] == {"held": 1, "broken": 1, "not_observed": 1, "manual": 1}
    assert summary["urls"] == [PAGE] and summary["exit_code"] == 1 and summary["browser"] == "Chromium/131"
    assert detail["summary"] == summary
    assert {status: [c["id"] for c in found] for status, found in detail["claims"].items()} == {
        "held": ["no-geo"], "broken": ["no-vendors"], "not_observed": ["beacons"], "manual": ["fingerprinting"],
    }  # fmt: skip
    assert [p["url"] for p in detail["pages"]] == [PAGE] and detail["pages"][0]["screenshot"] is None  # not stored
    assert {f["name"] for f in detail["findings"]} == {"audit_cookie", "ms_access", "tracker_db", "Mixpanel"}


def test_runs_are_listed_newest_first_and_filtered(client, db, login_as):
    old = store_run(db.url, a_run(at=datetime(2026, 5, 1, tzinfo=UTC)))
    new = store_run(db.url, a_run(at=datetime(2026, 6, 1, tzinfo=UTC)))
    with freeze_time(SLOT + timedelta(minutes=1), real_asyncio=True):
        failed = scheduled(db.url)
    login_as("privacy_staff")

    assert [r["id"] for r in client.get("/api/audits").json()["items"]] == [failed.id, new, old]
    assert [r["id"] for r in client.get("/api/audits", params={"status": "failed"}).json()["items"]] == [failed.id]
    june = client.get("/api/audits", params={"since": "2026-05-15", "until": "2026-06-15"}).json()
    assert [r["id"] for r in june["items"]] == [new]
    page = client.get("/api/audits", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 3 and len(page["items"]) == 1


def test_the_audit_api_is_for_auditors_and_names_bad_input(client, db, login_as):
    run_id = store_run(db.url, a_run())
    assert client.get("/api/audits").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/audits").status_code == 403
    login_as("auditor")
    assert client.get(f"/api/audits/{run_id + 1}").status_code == 404
    assert client.get("/api/audits", params={"status": "crashed"}).status_code == 400
    assert client.get(f"/api/audits/{run_id}").status_code == 200  # the positive control


def test_a_scheduled_run_that_cannot_launch_a_browser_is_stored_as_failed(client, db):
    with freeze_time(SLOT + timedelta(minutes=1), real_asyncio=True):
        stored = scheduled(db.url)

    assert stored is not None and stored.status == "failed" and "/nonexistent/chromium" in stored.error
    assert (stored.trigger, stored.actor, stored.urls, stored.finished_at is not None) == (
        "scheduled", "scheduler", list(SITE), True,
    )  # fmt: skip


def test_one_run_per_slot_however_many_instances_schedule_it(client, db):
    async def two_instances() -> list[StoredAudit | None]:
        engines = [create_engine(db.url) for _ in range(2)]
        settings = base_settings(db.url, audit_urls=SITE)
        schedule = audits.Schedule.parse("04:00")
        try:
            return await asyncio.gather(*(audits.scheduled_audit(e, settings, schedule, NO_BROWSER) for e in engines))
        finally:
            for engine in engines:
                await engine.dispose()

    with freeze_time(SLOT + timedelta(minutes=1), tick=True, real_asyncio=True):
        outcomes = asyncio.run(two_instances())
        again = scheduled(db.url)  # the catch-up job, later in the same slot

    assert sorted(o is None for o in outcomes) == [False, True] and again is None
    assert [(r.slot, r.status) for r in runs(db)] == [("2026-06-15T04:00Z", "failed")]


def test_a_slot_missed_beyond_its_grace_is_not_audited_late(client, db):
    with freeze_time(SLOT + audits.MISFIRE_GRACE + timedelta(minutes=1), real_asyncio=True):
        assert scheduled(db.url, audit_schedule="04:00") is None
    with freeze_time(SLOT + timedelta(hours=1), real_asyncio=True):  # within the grace: the positive control
        assert scheduled(db.url, audit_schedule="04:00") is not None


def test_without_a_policy_in_force_the_run_is_stored_as_failed(db):
    with freeze_time(SLOT + timedelta(minutes=1), real_asyncio=True):
        stored = scheduled(db.url)  # no app started: nothing seeded

    assert stored.status == "failed" and "no cookie policy is in force" in stored.error


def test_a_run_abandoned_by_its_instance_is_marked_failed(client, db):
    with freeze_time(SLOT - timedelta(days=1), real_asyncio=True):
        store_id = asyncio.run(_claim_only(db.url))

    with freeze_time(SLOT + timedelta(minutes=5), real_asyncio=True):
        scheduled(db.url)

    abandoned = next(r for r in runs(db) if r.id == store_id)
    assert abandoned.status == "failed" and "abandoned" in abandoned.error


async def _claim_only(url: str) -> int | None:
    engine = create_engine(url)
    try:
        return await audits.claim(engine, list(SITE), trigger="scheduled", actor="scheduler", slot="2026-06-14T04:00Z")
    finally:
        await engine.dispose()


def test_the_app_schedules_audits_only_when_sites_are_configured(db):
    settings = base_settings(db.url, scheduler_enabled=True, audit_urls=SITE, audit_schedule="every 6h")
    with TestClient(create_app(settings)) as client:
        jobs = {job.id: job for job in client.app.state["retention_scheduler"].get_jobs()}
        assert {PURGE_JOB, AUDIT_JOB, AUDIT_CATCH_UP_JOB} <= set(jobs)
        assert jobs[AUDIT_JOB].next_run_time.hour % 6 == 0 and jobs[AUDIT_JOB].next_run_time.minute == 0
    with TestClient(create_app(base_settings(db.url, scheduler_enabled=True))) as client:
        assert AUDIT_JOB not in {job.id for job in client.app.state["retention_scheduler"].get_jobs()}


def test_a_malformed_audit_schedule_stops_the_scheduler_with_a_sentence(db):
    engine = create_engine(db.url)

    with pytest.raises(SettingsError, match="MS_AUDIT_SCHEDULE"):
        build_scheduler(engine, base_settings(db.url, audit_urls=SITE, audit_schedule="hourly"))
    assert build_scheduler(engine, base_settings(db.url, audit_schedule="hourly"))  # no sites: no audit schedule


def test_audit_runs_are_a_retention_class_and_a_running_run_is_kept(client, db):
    data_class = data_classes()["audit_runs"]
    old = store_run(db.url, a_run(at=datetime(2024, 1, 1, tzinfo=UTC)))
    with freeze_time(datetime(2024, 1, 1, tzinfo=UTC), real_asyncio=True):
        running = asyncio.run(_claim_only(db.url))
    recent = store_run(db.url, a_run())
    cutoff = datetime.now(UTC) - timedelta(days=data_class.default_days)

    assert db.run(lambda s: data_class.count(s, cutoff)) == 1
    assert db.run(lambda s: data_class.purge(s, cutoff, 100)) == 1
    assert sorted(r.id for r in runs(db)) == sorted([running, recent]) and old not in {r.id for r in runs(db)}


def test_the_cli_stores_a_run_that_could_not_launch_as_failed_and_exits_2(client, db, cli):
    result = cli("audit", "https://mailssetu.in/", "--store", "--chromium", "/nonexistent/chromium")

    assert result.exit_code == 2 and "stored as failed audit run" in result.output
    [stored] = runs(db)
    assert (stored.trigger, stored.status) == ("cli", "failed") and "/nonexistent/chromium" in stored.error


def test_the_cli_refuses_to_store_a_run_against_another_deployments_allowlist(client, db, cli):
    result = cli("audit", "https://mailssetu.in/", "--store", "--allowlist", "https://elsewhere.example/a.json")

    assert result.exit_code == 2 and "--store" in result.output and runs(db) == []

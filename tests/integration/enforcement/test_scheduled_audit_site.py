"""A scheduled audit of a real (static, local) site in Chromium: stored, listed with its claims, folded
into drift; and the CLI's `--store`. One Chromium for the module (tests/e2e/audit_site.py)."""

from __future__ import annotations

import asyncio
import json

import pytest

from governance.core.db import create_engine
from governance.enforcement import audits
from governance.enforcement.audit import AuditOptions
from tests.conftest import base_settings
from tests.e2e import audit_site
from tests.e2e.audit_site import AuditBrowser

pytestmark = pytest.mark.e2e
audit_browser = audit_site.audit_browser  # one Chromium for this module

PAGE = """<!doctype html><script>
  localStorage.setItem("ms_journey_visitor_id", "v-1");  // declared: the positive control
  localStorage.setItem("scheduled_undeclared", "x");
  document.cookie = "scheduled_cookie=1; max-age=600; path=/";
</script><p>audited on a schedule</p>"""
FAST = ["--settle", "0.3", "--second-look", "0", "--timeout", "10"]


def options(browser: AuditBrowser) -> AuditOptions:
    return AuditOptions(connect=browser.endpoint, settle_s=0.3, second_look_s=0, timeout_s=10, screenshots=False)


def test_a_scheduled_audit_is_stored_listed_with_its_claims_and_feeds_drift(audit_browser, client, db, login_as):
    url = audit_browser.site.add("/scheduled", PAGE)
    settings = base_settings(db.url, audit_urls=(url,), audit_schedule="every 15 minutes")

    async def scheduled_run():
        engine = create_engine(db.url)
        try:
            schedule = audits.Schedule.parse(settings.audit_schedule)
            return await audits.scheduled_audit(engine, settings, schedule, options(audit_browser))
        finally:
            await engine.dispose()

    stored = asyncio.run(scheduled_run())
    login_as("auditor")

    assert stored is not None and stored.status == "finished", stored.error if stored else None
    [summary] = client.get("/api/audits").json()["items"]
    assert (summary["id"], summary["trigger"], summary["slot"], summary["pages"], summary["complete"]) == (
        stored.id, "scheduled", stored.slot, 1, True,
    )  # fmt: skip
    assert sum(summary["claims"].values()) == 8 and summary["claims"]["manual"] == 1
    detail = client.get(f"/api/audits/{stored.id}").json()
    undeclared = {(f["kind"], f["name"]) for f in detail["findings"] if f["rule"] == "undeclared"}
    assert {("local_storage", "scheduled_undeclared"), ("cookie", "scheduled_cookie")} <= undeclared
    assert ("local_storage", "ms_journey_visitor_id") not in undeclared
    assert [c["id"] for c in detail["claims"]["manual"]] == ["no-cross-site-tracking"]
    drift = {i["name"]: i for i in client.get("/api/drift", params={"source": "audit"}).json()["items"]}
    assert {"scheduled_undeclared", "scheduled_cookie"} <= set(drift) and "ms_journey_visitor_id" not in drift
    assert drift["scheduled_cookie"]["pages"] == [url] and drift["scheduled_cookie"]["observed"]["http_only"] is False


def test_the_cli_stores_its_run_when_asked(audit_browser, client, db, login_as, cli):
    url = audit_browser.site.add("/cli-stored", PAGE)

    result = cli("audit", url, "--connect", audit_browser.endpoint, "--store", "--format", "json", *FAST)

    assert result.exit_code == 1, result.output  # drift
    run = json.loads(result.stdout)
    assert run["exit_code"] == 1 and [p["url"] for p in run["pages"]] == [url]
    login_as("auditor")
    [summary] = client.get("/api/audits").json()["items"]
    assert (summary["trigger"], summary["actor"], summary["urls"], summary["exit_code"]) == ("cli", "cli", [url], 1)
    unstored = cli("audit", url, "--connect", audit_browser.endpoint, "--format", "json", *FAST)
    assert unstored.exit_code == 1 and client.get("/api/audits").json()["total"] == 1  # without --store: not kept

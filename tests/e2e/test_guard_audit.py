"""`python -m governance audit` against this app's own policy (the database) and pages, in real
Chromium (one per module, reached with --connect)."""

from __future__ import annotations

import json
import subprocess
import sys

from policy_docs import service as policy_service
from tests.e2e import audit_site
from tests.e2e.conftest import REPO, server_environment

audit_browser = audit_site.audit_browser  # one Chromium for this module
FAST = ["--settle", "0.3", "--second-look", "0", "--timeout", "15"]
TRACKING_PAGE = """<!doctype html><html><head><script>
document.cookie = "tracker_id=abc; max-age=3600; path=/";
localStorage.setItem("ms_journey_visitor_id", "v-1");
</script></head><body>a page that sets an undeclared cookie</body></html>"""


def audit(db, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_environment(db.url, 0)
    return subprocess.run(
        [sys.executable, "-m", "governance", "audit", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_our_own_pages_show_no_drift(live_server, db, audit_browser):
    pages = [live_server.url_for(p) for p in ("/cookie-policy", "/cookie-policy/versions", "/governance/guard.js")]

    result = audit(db, *pages, "--format", "json", "--connect", audit_browser.endpoint, *FAST)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["drift"] is False and report["findings"] == [] and report["complete"] is True
    assert report["policy_version"] == 1 and report["policy_source"] == "this database"
    assert {"kind": "cookie", "name": "ms_access", "match": "exact"} in report["not_seen"]
    claims = {c["id"]: c for c in report["claims"]}
    assert (
        claims["no-third-party-analytics"]["status"] == "held" and claims["no-geolocation-prompts"]["status"] == "held"
    )
    assert all(c["in_policy"] for c in claims.values())  # the version in force still says every claim
    assert [p["status"] for p in report["pages"]] == ["ok", "ok", "ok"]


def test_a_page_setting_an_undeclared_cookie_exits_1_and_names_it(static_site, db, audit_browser):
    db.run(policy_service.seed_safely)  # the policy in force: version 1 from the data files
    site = static_site({"/": TRACKING_PAGE})

    result = audit(db, site + "/", "--connect", audit_browser.endpoint, *FAST)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Undeclared: 1" in result.stdout and "tracker_id" in result.stdout and "DRIFT" in result.stdout
    assert "ms_journey_visitor_id" not in result.stdout.split("Declared but not seen")[0]  # declared: no finding


def test_another_deployment_is_audited_against_its_published_allowlist(live_server, static_site, db, audit_browser):
    site = static_site({"/": TRACKING_PAGE})
    allowlist = live_server.url_for("/governance/allowlist.json")

    result = audit(
        db, site + "/", "--allowlist", allowlist, "--format", "json", "--connect", audit_browser.endpoint, *FAST
    )

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(f["rule"], f["name"]) for f in report["findings"]] == [("undeclared", "tracker_id")]
    assert report["policy_source"] == allowlist and report["warnings"] == []  # its policy text came along


def test_without_a_policy_in_force_the_audit_says_so(db):
    result = audit(db, "http://127.0.0.1:9/")

    assert result.returncode == 2 and "no cookie policy is in force" in result.stderr


def test_without_a_browser_the_audit_says_how_to_install_one(db):
    db.run(policy_service.seed_safely)
    result = audit(db, "http://127.0.0.1:9/", "--chromium", "/nonexistent/chromium")

    assert result.returncode == 2
    assert "apt-get install chromium" in result.stderr and "pip install playwright" in result.stderr

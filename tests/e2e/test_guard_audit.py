"""`python -m governance audit`: drift between live pages and the policy in force, in real Chromium."""

from __future__ import annotations

import json
import subprocess
import sys

from policy_docs import service as policy_service
from tests.e2e.conftest import REPO, server_environment

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


def test_our_own_pages_show_no_drift(live_server, db, browser):
    pages = [live_server.url_for(p) for p in ("/cookie-policy", "/cookie-policy/versions", "/governance/guard.js")]

    result = audit(db, *pages, "--format", "json")

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["drift"] is False and report["undeclared"] == [] and report["mismatched"] == []
    assert (
        report["policy_version"] == 1
        and {"kind": "cookie", "name": "ms_access", "match": "exact"} in report["not_seen"]
    )


def test_a_page_setting_an_undeclared_cookie_exits_1_and_names_it(static_site, db, browser):
    db.run(policy_service.seed_safely)  # the policy in force: version 1 from the data files
    site = static_site({"/": TRACKING_PAGE})

    result = audit(db, site + "/")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "tracker_id" in result.stdout and "Undeclared: 1" in result.stdout and "DRIFT" in result.stdout
    assert "ms_journey_visitor_id" not in result.stdout.split("Declared but not seen")[0]


def test_another_deployment_is_audited_against_its_published_allowlist(live_server, static_site, db, browser):
    site = static_site({"/": TRACKING_PAGE})

    result = audit(db, site + "/", "--allowlist", live_server.url_for("/governance/allowlist.json"), "--format", "json")

    assert result.returncode == 1
    assert [item["name"] for item in json.loads(result.stdout)["undeclared"]] == ["tracker_id"]


def test_without_a_policy_in_force_the_audit_says_so(db):
    result = audit(db, "http://127.0.0.1:9/")

    assert result.returncode == 2 and "no cookie policy is in force" in result.stderr


def test_without_a_browser_the_audit_says_how_to_install_one(db):
    db.run(policy_service.seed_safely)
    result = audit(db, "http://127.0.0.1:9/", "--chromium", "/nonexistent/chromium")

    assert result.returncode == 2
    assert "apt-get install chromium" in result.stderr and "pip install playwright" in result.stderr

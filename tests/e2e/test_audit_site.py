"""The live-site audit against a page set of its own: third-party frames and subresources,
storage of every frame, late writes, hidden keys, a promised-absent vendor, geolocation.

One Chromium for the module (`audit_browser`); the page set is audited once, and each test
reads one aspect of that run. The CLI tests reach the same browser with `--connect`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import msgspec
import pytest

from governance.enforcement import audit
from governance.enforcement.audit import report
from governance.enforcement.audit.model import AuditRun, Sighting
from tests.e2e import audit_site
from tests.e2e.audit_pages import seed_snapshot, serve_page_set, serve_published_policy
from tests.e2e.audit_site import AuditBrowser, closed_port
from tests.e2e.conftest import REPO

audit_browser = audit_site.audit_browser  # one Chromium for this module
FAST = ["--settle", "0.3", "--second-look", "0", "--timeout", "10"]


@pytest.fixture(scope="module")
def urls(audit_browser: AuditBrowser) -> dict[str, str]:
    return serve_page_set(audit_browser.site)


@pytest.fixture(scope="module")
def run(audit_browser: AuditBrowser, urls: dict[str, str]) -> AuditRun:
    """The tracked, hiding and geolocation pages, crawling one link, with a second look after
    3.5 s (the tracked page writes 3 s after load)."""
    options = audit.AuditOptions(connect=audit_browser.endpoint, settle_s=0.5, second_look_s=3.5, crawl=1, timeout_s=10)
    policy = audit.policy_from_snapshot(seed_snapshot(), source="seed")
    pages = [urls["tracked"], urls["hiding"], urls["geolocation"]]
    return asyncio.run(audit.run_audit(pages, policy, claims=audit.load_claims(), options=options))


def seen(run: AuditRun, kind: str, name: str) -> list[Sighting]:
    return [s for s in run.sightings if s.kind == kind and s.name == name]


def finding_names(run: AuditRun, rule: str) -> set[tuple[str, str]]:
    return {(f.kind, f.name) for f in run.findings if f.rule == rule}


def claim(run: AuditRun, claim_id: str) -> audit.model.ClaimResult:
    return next(c for c in run.claims if c.id == claim_id)


def test_cookies_of_iframes_and_subresources_are_seen_as_third_party(run):
    third = {s.name: s for s in run.sightings if s.kind == "cookie" and s.host == "localhost"}

    assert {"pixel_id", "frame_header", "frame_js"} <= third.keys()  # image, iframe response, iframe script
    assert third["pixel_id"].secure and third["pixel_id"].same_site == "None" and third["pixel_id"].lifetime_s > 3e7
    assert [s.host for s in seen(run, "cookie", "server_id")] == ["127.0.0.1"] and seen(run, "cookie", "server_id")[
        0
    ].http_only
    assert {("cookie", "pixel_id"), ("cookie", "frame_js"), ("cookie", "server_id")} <= finding_names(run, "undeclared")
    assert claim(run, "no-third-party-cookies").status == "broken"


def test_storage_of_every_frame_is_read_by_its_origin(run, urls):
    frame_local, frame_session = (
        seen(run, "local_storage", "frame_key"),
        seen(run, "session_storage", "frame_session_key"),
    )

    assert frame_local and frame_local[0].host == "localhost" and frame_local[0].frame.endswith("/frame")
    assert frame_session and frame_session[0].host == "localhost"
    declared = seen(run, "local_storage", "ms_journey_visitor_id")
    assert declared and declared[0].host == "127.0.0.1" and urls["tracked"] in declared[0].pages
    assert ("local_storage", "ms_journey_visitor_id") not in finding_names(run, "undeclared")
    assert ("local_storage", "frame_key") in finding_names(run, "undeclared")


def test_indexeddb_cache_storage_and_service_workers_are_seen_and_undeclared(run, urls):
    undeclared = finding_names(run, "undeclared")

    assert {("indexed_db", "tracker_db"), ("indexed_db", "frame_db"), ("cache_storage", "tracker_cache")} <= undeclared
    assert seen(run, "indexed_db", "frame_db")[0].host == "localhost"
    assert ("service_worker", urls["tracked"]) in undeclared  # the scope of the registration


def test_a_write_three_seconds_after_load_is_caught_by_the_second_look(run):
    late_key, late_cookie = seen(run, "local_storage", "late_key"), seen(run, "cookie", "late_cookie")

    assert late_key and late_key[0].after_load_s >= 3 and late_cookie and late_cookie[0].after_load_s >= 3
    assert seen(run, "local_storage", "undeclared_key")[0].after_load_s < 3  # written at load: first snapshot
    assert all(page.snapshots == 2 for page in run.pages)


def test_a_page_cannot_hide_its_keys_from_the_audit(run, urls):
    hidden, hidden_session = (
        seen(run, "local_storage", "hidden_key"),
        seen(run, "session_storage", "hidden_session_key"),
    )

    assert hidden and urls["hiding"] in hidden[0].pages
    assert hidden_session and urls["hiding"] in hidden_session[0].pages
    assert {("local_storage", "hidden_key"), ("session_storage", "hidden_session_key")} <= finding_names(
        run, "undeclared"
    )


def test_every_sighting_is_judged_not_the_first_per_name(run):
    dup = seen(run, "cookie", "dup")

    assert sorted(s.path for s in dup) == ["/", "/sub"]
    assert [f.name for f in run.findings if f.rule == "undeclared"].count("dup") == 2


def test_a_request_to_a_promised_absent_vendor_is_drift_and_breaks_its_claim(run, audit_browser):
    vendors = [f for f in run.findings if f.rule == "vendor"]

    assert {f.name for f in vendors} == {"Mixpanel"}
    assert {f.host for f in vendors} == {"api-js.mixpanel.com", "cdn.mxpnl.com"}
    assert "Mixpanel" in vendors[0].reasons[0]  # quotes the policy's own promise
    assert claim(run, "no-third-party-analytics").status == "broken"
    assert claim(run, "no-session-recording").status == "held"  # no Hotjar or FullStory here
    assert claim(run, "journey-events-first-party-only").status == "broken"  # the beacon went to Mixpanel
    hosts = {h.host: h for h in run.hosts}
    assert hosts["api-js.mixpanel.com"].vendor == "mixpanel" and hosts["127.0.0.1"].party == "first"
    assert any(host.startswith("cdn.mxpnl.com") for _, host, _ in audit_browser.site.received)  # served locally


def test_geolocation_use_is_seen_even_when_the_page_hides_the_api(run, urls):
    pages = {p.url: p for p in run.pages}

    assert pages[urls["geolocation"]].geolocation is True and pages[urls["tracked"]].geolocation is False
    assert claim(run, "no-geolocation-prompts").status == "broken"
    assert urls["geolocation"] in claim(run, "no-geolocation-prompts").evidence[0]


def test_crawl_follows_same_site_links_only(run, audit_browser):
    crawled = [p for p in run.pages if not p.requested]

    assert [p.url for p in crawled] == [audit_browser.site.first + "/second"] and crawled[0].status == "ok"
    assert seen(run, "session_storage", "crawled_key")
    assert not any(p.url.startswith(audit_browser.site.third) for p in run.pages)


def test_declared_items_never_seen_are_listed_and_the_run_is_drift(run):
    assert {("cookie", "ms_access"), ("local_storage", "ms_journey_session_id")} <= {
        (d.kind, d.name) for d in run.not_seen
    }
    assert ("local_storage", "ms_journey_visitor_id") not in {(d.kind, d.name) for d in run.not_seen}
    assert run.drift and run.complete and run.exit_code == 1
    assert claim(run, "no-cross-site-tracking").status == "manual"
    assert all(c.in_policy for c in run.claims)  # every claim's text is in the seed policy


def test_the_reports_are_self_contained(run):
    html = report.as_html(run)
    document = json.loads(report.as_json(run))

    assert html.count('src="data:image/jpeg;base64,') == len(run.pages) and 'src="http' not in html
    assert "tracker_db" in html and "no-geolocation-prompts" in html
    assert document["exit_code"] == 1 and "screenshot" not in document["pages"][0]
    assert msgspec.convert(document, AuditRun, from_attributes=False, strict=False).findings == run.findings


# --- the command ---------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "governance", "audit", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_clean_page_exits_0(audit_browser, urls, tmp_path):
    allowlist = serve_published_policy(audit_browser.site)
    html = tmp_path / "report.html"

    result = cli(
        urls["clean"], "--allowlist", allowlist, "--connect", audit_browser.endpoint, "--html", str(html), *FAST
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No drift" in result.stdout and "page 1 of 1" in result.stderr  # progress on stderr
    assert "held         session-cookie-not-readable-by-javascript" in result.stdout  # ms_access seen HttpOnly
    assert html.read_text().count("data:image/jpeg;base64,") == 1


def test_a_readable_session_cookie_breaks_the_httponly_claim(audit_browser, urls):
    allowlist = serve_published_policy(audit_browser.site)

    result = cli(
        urls["readable_session"],
        "--allowlist",
        allowlist,
        "--connect",
        audit_browser.endpoint,
        "--format",
        "json",
        *FAST,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    run = json.loads(result.stdout)
    assert "page 1 of 1" not in result.stderr  # quiet with --format json
    assert [(f["rule"], f["name"], f["reasons"]) for f in run["findings"]] == [
        ("mismatch", "ms_access", ["HttpOnly must be set"])
    ]
    claims = {c["id"]: c["status"] for c in run["claims"]}
    assert (
        claims["session-cookie-not-readable-by-javascript"] == "broken" and claims["no-third-party-cookies"] == "held"
    )


def test_a_url_that_cannot_load_exits_2_and_the_other_pages_are_still_reported(audit_browser, urls, tmp_path):
    allowlist = serve_published_policy(audit_browser.site)
    unreachable = f"http://127.0.0.1:{closed_port()}/"
    har = tmp_path / "audit.har"

    result = cli(unreachable, urls["slow"], urls["tracked"], "--allowlist", allowlist, "--connect", audit_browser.endpoint,
                 "--format", "json", "--har", str(har), "--settle", "0.3", "--second-look", "0", "--timeout", "2")  # fmt: skip

    assert result.returncode == 2, result.stdout + result.stderr
    pages = {p["url"]: p for p in json.loads(result.stdout)["pages"]}
    assert pages[unreachable]["status"] == "failed" and "ERR_CONNECTION_REFUSED" in pages[unreachable]["error"]
    assert pages[urls["slow"]]["status"] == "failed" and "timed out" in pages[urls["slow"]]["error"]
    assert pages[urls["tracked"]]["status"] == "ok"
    assert "tracker_db" in {f["name"] for f in json.loads(result.stdout)["findings"]}  # drift still reported
    assert urls["tracked"] in {entry["request"]["url"] for entry in json.loads(har.read_text())["log"]["entries"]}


def test_bad_input_gets_a_sentence_and_exit_2(audit_browser, tmp_path):
    claims = tmp_path / "claims.toml"
    claims.write_text('[[claims]]\nid = "x"\nsection = "s"\ntext = "t"\ncheck = "audit:telepathy"\n')

    not_a_url = cli("ftp://example.test/", "--connect", audit_browser.endpoint)
    bad_claims = cli("http://127.0.0.1:9/", "--claims", str(claims), "--connect", audit_browser.endpoint)
    no_browser = cli(
        "http://127.0.0.1:9/",
        "--allowlist",
        serve_published_policy(audit_browser.site),
        "--connect",
        f"http://127.0.0.1:{closed_port()}",
    )

    assert not_a_url.returncode == 2 and "not an http(s) URL: 'ftp://example.test/'" in not_a_url.stderr
    assert bad_claims.returncode == 2 and "claims.toml" in bad_claims.stderr and "audit:telepathy" in bad_claims.stderr
    assert no_browser.returncode == 2 and "could not reach Chromium" in no_browser.stderr

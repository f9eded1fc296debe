"""Judging an audit: every sighting, cookie attributes, third parties, claims. No browser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from governance.enforcement.audit.claims import load_claims
from governance.enforcement.audit.collect import Observation, RequestSeen, same_site, split_storage_key
from governance.enforcement.audit.judge import beacons, build_run, judge_claims, judge_sightings
from governance.enforcement.audit.model import AuditedPolicy, AuditOptions, Claim, PageResult, Sighting
from governance.enforcement.audit.vendors import default_vendors
from tests.unit.enforcement.declarations import SEED, cookie, storage

SITE = "https://www.mailssetu.in/"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SITES = ["mailssetu.in"]


def page(
    url: str = SITE, *, status: str = "ok", requested: bool = True, geolocation: bool | None = False
) -> PageResult:
    return PageResult(url=url, requested=requested, status=status, started_at=NOW, finished_at=NOW, site="mailssetu.in", geolocation=geolocation)  # type: ignore[arg-type]  # fmt: skip


def a_cookie(name: str, host: str = "www.mailssetu.in", **attributes) -> Sighting:
    values = {"path": "/", "http_only": False, "secure": True, "same_site": "Lax", "lifetime_s": 3600}
    values.update(attributes)
    return Sighting(kind="cookie", name=name, host=host, origin=host, pages=[SITE], **values)


def a_key(kind: str, name: str, host: str = "www.mailssetu.in") -> Sighting:
    return Sighting(kind=kind, name=name, host=host, origin=f"https://{host}", pages=[SITE])  # type: ignore[arg-type]


def judged(*sightings: Sighting, declarations=SEED, require_secure: bool = False):
    findings, not_seen = judge_sightings(list(sightings), declarations, SITES, require_secure=require_secure)
    return [(f.rule, f.kind, f.name, f.host, tuple(f.reasons)) for f in findings], {(d.kind, d.name) for d in not_seen}


def test_every_sighting_is_judged_the_same_name_twice_is_two_findings():
    findings, _ = judged(
        a_cookie("tracker", path="/"), a_cookie("tracker", path="/app"), a_cookie("tracker", host="ads.example")
    )

    assert [(rule, name, host) for rule, _, name, host, _ in findings] == [
        ("undeclared", "tracker", "www.mailssetu.in"),
        ("undeclared", "tracker", "www.mailssetu.in"),
        ("undeclared", "tracker", "ads.example"),
    ]


def test_a_declared_cookie_set_as_declared_is_no_finding_and_its_attributes_are_the_guards_rules():
    good = a_cookie("ms_access", http_only=True, lifetime_s=30 * 24 * 3600)
    readable = a_cookie("ms_access", http_only=False, lifetime_s=30 * 24 * 3600)
    too_long = a_cookie("ms_csrf", lifetime_s=400 * 24 * 3600)
    no_same_site = a_cookie("ms_csrf", same_site=None, path="/x")

    findings, not_seen = judged(good, readable, too_long, no_same_site)

    assert findings == [
        ("mismatch", "cookie", "ms_access", "www.mailssetu.in", ("HttpOnly must be set",)),
        (
            "mismatch",
            "cookie",
            "ms_csrf",
            "www.mailssetu.in",
            ("lives 34560000s, declared at most 2592000s (30 days / until sign-out)",),
        ),
        ("mismatch", "cookie", "ms_csrf", "www.mailssetu.in", ("SameSite must be Lax", "Path must be /")),
    ]
    assert ("cookie", "ms_access") not in not_seen and ("cookie", "__next_locale") in not_seen


def test_a_session_cookie_never_outlives_its_declaration_and_require_secure_applies():
    session = a_cookie("ms_csrf", lifetime_s=None, secure=False)

    assert judged(session)[0] == []
    assert judged(session, require_secure=True)[0] == [
        ("mismatch", "cookie", "ms_csrf", "www.mailssetu.in", ("Secure is required",))
    ]


def test_declared_first_party_items_stored_for_a_third_party_are_findings():
    findings, _ = judged(
        a_key("local_storage", "ms_journey_visitor_id"),
        a_key("local_storage", "ms_journey_visitor_id", host="widget.example"),
    )

    assert findings == [
        (
            "third_party",
            "local_storage",
            "ms_journey_visitor_id",
            "widget.example",
            ("declared as first party, but stored for widget.example",),
        )
    ]


def test_storage_the_policy_cannot_declare_is_always_undeclared_and_prefixes_match():
    declarations = [*SEED, storage("session_storage", "ms_tmp_", match="prefix")]

    findings, not_seen = judged(
        a_key("indexed_db", "analytics_db"), a_key("cache_storage", "v1"), a_key("session_storage", "ms_tmp_42"),
        declarations=declarations,
    )  # fmt: skip

    assert [(rule, kind, name) for rule, kind, name, _, _ in findings] == [
        ("undeclared", "indexed_db", "analytics_db"),
        ("undeclared", "cache_storage", "v1"),
    ]
    assert "the policy declares no indexed db at all" in findings[0][4]
    assert ("session_storage", "ms_tmp_") not in not_seen


def test_beacons_are_data_sent_outside_the_first_party_sites():
    requests = [
        RequestSeen(SITE, "https://collect.example/e", "POST", "fetch"),
        RequestSeen(SITE, "https://collect.example/p", "POST", "ping"),
        RequestSeen(SITE, "https://img.example/a.png", "GET", "image"),  # a GET loads, it is not a beacon
        RequestSeen(SITE, "https://cdn.example/x", "OPTIONS", "preflight"),  # the browser's own preflight
        RequestSeen(SITE, "https://api.mailssetu.in/journey/events", "POST", "fetch"),  # same site
        RequestSeen(SITE, "https://events.mailsetu-infra.net/j", "POST", "fetch"),
    ]

    sent = [r.url for r in beacons(requests, SITES)]
    configured = [r.url for r in beacons(requests, [*SITES, "mailsetu-infra.net"])]

    assert sent == ["https://collect.example/e", "https://collect.example/p", "https://events.mailsetu-infra.net/j"]
    assert configured == ["https://collect.example/e", "https://collect.example/p"]


def observation(*, requests=(), sightings=(), pages=None) -> Observation:
    return Observation(pages=pages or [page()], sightings=list(sightings), requests=list(requests), browser="test")


def statuses(obs: Observation, policy: AuditedPolicy | None = None) -> dict[str, str]:
    policy = policy or AuditedPolicy(declarations=SEED)
    return {c.id: c.status for c in judge_claims(load_claims(), obs, policy, default_vendors(), SITES)}


def test_claims_hold_on_a_clean_site_and_break_one_by_one():
    clean = statuses(observation(sightings=[a_cookie("ms_access", http_only=True)]))
    assert clean == {
        "no-third-party-analytics": "held", "no-advertising-tags": "held", "no-session-recording": "held",
        "no-cross-site-tracking": "manual", "no-third-party-cookies": "held",
        "session-cookie-not-readable-by-javascript": "held", "journey-events-first-party-only": "held",
        "no-geolocation-prompts": "held",
    }  # fmt: skip

    hotjar = statuses(
        observation(requests=[RequestSeen(SITE, "https://static.hotjar.com/c/hotjar-1.js", "GET", "script")])
    )
    assert hotjar["no-session-recording"] == "broken" and hotjar["no-third-party-analytics"] == "held"
    fb = statuses(
        observation(requests=[RequestSeen(SITE, "https://www.facebook.com/tr/?id=1&ev=PageView", "GET", "image")])
    )
    assert fb["no-advertising-tags"] == "broken" and fb["journey-events-first-party-only"] == "held"
    geo = statuses(observation(pages=[page(geolocation=True)]))
    assert geo["no-geolocation-prompts"] == "broken"
    third = statuses(observation(sightings=[a_cookie("_fbp", host="facebook.com")]))
    assert third["no-third-party-cookies"] == "broken"


def test_the_httponly_claim_needs_the_declaration_and_every_sighting():
    claim = {"session-cookie-not-readable-by-javascript"}
    unseen = statuses(observation())
    readable_once = statuses(
        observation(
            sightings=[a_cookie("ms_access", http_only=True), a_cookie("ms_access", http_only=False, path="/api")]
        )
    )
    declared_readable = statuses(observation(), AuditedPolicy(declarations=[cookie("ms_access", http_only=False)]))

    assert {k: unseen[k] for k in claim} == {"session-cookie-not-readable-by-javascript": "not_observed"}
    assert readable_once["session-cookie-not-readable-by-javascript"] == "broken"
    assert declared_readable["session-cookie-not-readable-by-javascript"] == "broken"


def test_what_could_not_be_observed_is_not_called_held():
    unknown_geo = statuses(observation(pages=[page(geolocation=None)]))
    nothing_loaded = statuses(observation(pages=[page(status="failed", geolocation=None)]))

    assert unknown_geo["no-geolocation-prompts"] == "not_observed" and unknown_geo["no-session-recording"] == "held"
    assert set(nothing_loaded.values()) == {"not_observed", "manual"}


def test_a_claim_the_policy_no_longer_says_is_flagged():
    claims = [
        Claim(
            id="gone",
            section="what-we-do-not-use",
            text="Hotjar, FullStory, or any session recording tools.",
            check="audit:vendors",
        )
    ]
    says = AuditedPolicy(
        declarations=SEED,
        sections={"what-we-do-not-use": "We do not use:\nHotjar,  FullStory, or any session recording tools."},
    )
    silent = AuditedPolicy(declarations=SEED, sections={"what-we-do-not-use": "We do not use: Google Analytics."})

    assert judge_claims(claims, observation(), says, default_vendors(), SITES)[0].in_policy is True
    assert judge_claims(claims, observation(), silent, default_vendors(), SITES)[0].in_policy is False
    assert (
        judge_claims(claims, observation(), AuditedPolicy(declarations=SEED), default_vendors(), SITES)[0].in_policy
        is None
    )


def run_of(obs: Observation, not_used: list[str] | None = None):
    policy = AuditedPolicy(declarations=SEED, not_used=not_used or [])
    return build_run([SITE], obs, policy, load_claims(), AuditOptions(), default_vendors(), NOW)


@pytest.mark.parametrize(
    ("pages", "sightings", "code"),
    [
        ([page()], [], 0),
        ([page()], [a_cookie("tracker")], 1),
        ([page(), page("https://www.mailssetu.in/x", status="failed")], [], 2),
        ([page(), page("https://www.mailssetu.in/x", status="crashed")], [a_cookie("tracker")], 2),  # incomplete wins
        ([page(), page("https://www.mailssetu.in/gone", status="http_error")], [], 2),
        (
            [page(), page("https://www.mailssetu.in/gone", status="http_error", requested=False)],
            [],
            0,
        ),  # a dead crawled link
    ],
)
def test_exit_codes(pages, sightings, code):
    assert run_of(observation(pages=pages, sightings=sightings)).exit_code == code


def test_vendor_requests_are_drift_only_when_the_policy_rules_the_vendor_out():
    requests = [
        RequestSeen(SITE, "https://static.hotjar.com/c/hotjar-1.js", "GET", "script"),
        RequestSeen(SITE, "https://www.mailssetu.in/proxy/hotjar.js", "GET", "script"),
    ]
    promised = run_of(observation(requests=requests), not_used=["Hotjar, FullStory, or any session recording tools."])
    silent = run_of(observation(requests=requests), not_used=["Google Analytics."])

    assert [(f.rule, f.name, f.host) for f in promised.findings] == [("vendor", "Hotjar", "static.hotjar.com")]
    assert "Hotjar, FullStory" in promised.findings[0].reasons[0]
    assert [f for f in silent.findings if f.rule == "vendor"] == []
    assert {h.host: h.vendor for h in silent.hosts}["static.hotjar.com"] == "hotjar"  # still listed


def test_sites_and_storage_keys():
    assert same_site("www.mailssetu.in", "mailssetu.in") and same_site(".mailssetu.in", "mailssetu.in")
    assert not same_site("evilmailssetu.in", "mailssetu.in") and not same_site("mailssetu.in.evil.net", "mailssetu.in")
    assert split_storage_key("https://a.example/") == ("https://a.example", None)
    assert split_storage_key("https://a.example/^0https://b.example") == ("https://a.example", "https://b.example")

"""guard.js served by the real app, in headless Chromium: its reports become violation rows.

The guard's page set (every write path, other windows, tampering, sweeps) is test_guard_pages.py;
here the app's own /governance/guard.js, generated from the seed policy in the database, runs
beside journey.js and reports to the app's intake.
"""

from __future__ import annotations

import time

from governance.enforcement import service

JOURNEY_KEYS = ["ms_journey_first_touch", "ms_journey_session_id", "ms_journey_visitor_id"]
PAGE = """<!doctype html><html><head><script src="/governance/guard.js"></script><script src="/journey.js"></script>
</head><body><p>a page with the guard loaded first</p></body></html>"""
HOSTILE = """async () => {
    localStorage.evil_local = 'secret-value';
    Object.defineProperty(sessionStorage, 'evil_session', {value: 'secret-value'});
    document.cookie = 'ms_access=forged; path=/; samesite=lax';
    document.cookie = 'ms_csrf=token; path=/elsewhere; samesite=lax; max-age=60';
    document.cookie = '__next_locale=en; path=/; max-age=31536000';
    await new Promise((resolve) => navigator.geolocation.getCurrentPosition(resolve, resolve));
    return {local: Object.keys(localStorage).sort(), session: Object.keys(sessionStorage), cookies: document.cookie};
}"""
FOUND = [
    ("api", "geolocation", "promised_absent"),
    ("cookie", "ms_access", "http_only"),
    ("cookie", "ms_csrf", "path"),
    ("local_storage", "evil_local", "undeclared"),
    ("session_storage", "evil_session", "undeclared"),
]


def open_guarded_page(page, server) -> str:
    """A page on the app's own origin whose first script is the app's guard.js, then journey.js."""
    url = server.url_for("/e2e/guarded-page")
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=PAGE))
    page.goto(url)
    page.wait_for_function("() => localStorage.getItem('ms_journey_session_id') !== null")
    return url


def browser_violations(db, expected: int) -> list:
    """Wait (bounded) until `expected` browser reports are stored; sendBeacon is asynchronous."""
    deadline = time.monotonic() + 15
    while True:
        found = db.run(lambda s: service.list_violations(s, source="browser"))
        if len(found) >= expected or time.monotonic() > deadline:
            return sorted(found, key=lambda v: (v.kind, v.name))
        time.sleep(0.1)


def test_journey_keeps_its_keys_and_every_undeclared_write_is_a_violation_row(page, live_server, db):
    url = open_guarded_page(page, live_server)
    assert page.evaluate("() => Object.keys(localStorage).sort()") == JOURNEY_KEYS

    state = page.evaluate(HOSTILE)

    assert state["local"] == JOURNEY_KEYS and state["session"] == []
    assert state["cookies"] == "__next_locale=en"  # the declared one, set as declared
    found = browser_violations(db, len(FOUND))
    assert [(v.kind, v.name, v.reason) for v in found] == FOUND  # journey.js's own writes raised none
    assert {(v.mode, v.page, v.policy_version) for v in found} == {("enforce", url, 1)}
    assert all("Chrome" in v.user_agent and "secret-value" not in v.detail + v.page + v.user_agent for v in found)


def test_report_mode_lets_the_writes_happen_and_records_them(page, serve_app, db):
    open_guarded_page(page, serve_app(cookie_guard_mode="report"))

    state = page.evaluate(HOSTILE)

    assert state["local"] == sorted([*JOURNEY_KEYS, "evil_local"]) and state["session"] == ["evil_session"]
    assert "ms_access=forged" in state["cookies"] and "__next_locale=en" in state["cookies"]
    found = browser_violations(db, len(FOUND))
    assert [(v.kind, v.name, v.reason, v.mode) for v in found] == [(*f, "report") for f in FOUND]

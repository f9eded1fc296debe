"""journey.js in real headless Chromium, beside guard.js in enforce mode (fixtures: tests/e2e/conftest.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from governance.enforcement import service as enforcement
from tracking.journey.models import JourneyEvent, JourneySession

KEYS = ["ms_journey_first_touch", "ms_journey_session_id", "ms_journey_visitor_id"]
CAMPAIGN = "utm_source=newsletter&utm_medium=email&utm_campaign=launch"
PAGE = """<!doctype html><html><head>
<script src="/governance/guard.js"></script>
<script src="/journey.js"></script>
</head><body><h1>{title}</h1><a id="next" href="/e2e/journey/two">next</a></body></html>"""


def serve_pages(page, server) -> None:
    """Two pages on the app's own origin (in every tab of the context), each loading guard.js first and then the snippet."""
    for name in ("one", "two"):
        page.context.route(
            server.url_for(f"/e2e/journey/{name}") + "*",
            lambda route, name=name: route.fulfill(status=200, content_type="text/html", body=PAGE.format(title=name)),
        )


async def rows(session, model, *order) -> list:
    return list(await session.scalars(select(model).order_by(*order, model.id)))


def stored_events(db, expected: int) -> list[JourneyEvent]:
    """Wait (bounded) until `expected` events have arrived; beacons are asynchronous and may
    arrive out of order (page one's pagehide beacon races page two's), so sort by time."""
    deadline = time.monotonic() + 15
    while True:
        events = db.run(lambda session: rows(session, JourneyEvent, JourneyEvent.occurred_at))
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def storage(page) -> dict:
    return page.evaluate(
        """() => ({local: Object.keys(localStorage).sort(), session: sessionStorage.length, cookies: document.cookie,
                   visitor: localStorage.getItem('ms_journey_visitor_id'),
                   session_id: JSON.parse(localStorage.getItem('ms_journey_session_id') || 'null'),
                   first_touch: JSON.parse(localStorage.getItem('ms_journey_first_touch') || 'null')})"""
    )


def test_two_pages_record_views_a_transition_and_the_first_touch_with_only_the_declared_keys(page, live_server, db):
    serve_pages(page, live_server)
    page.goto(
        live_server.url_for(f"/e2e/journey/one?{CAMPAIGN}&email=bob%40example.com"),
        referer="https://news.example.org/post/1",
    )
    page.click("#next")
    page.wait_for_url("**/e2e/journey/two")
    page.evaluate("""() => {
        history.pushState({}, '', '/e2e/journey/two/details?token=s3cret');
        journey.step('signup_started');
        journey.flush();
    }""")

    events = stored_events(db, 4)
    state = storage(page)
    assert state["local"] == KEYS and state["session"] == 0 and state["cookies"] == ""
    assert state["first_touch"] == {
        "referrer": "news.example.org", "utm_source": "newsletter", "utm_medium": "email",
        "utm_campaign": "launch", "utm_term": None, "utm_content": None,
    }  # fmt: skip
    assert [(e.event_type, e.path, e.query, e.from_path, e.step) for e in events] == [
        ("page_view", "/e2e/journey/one", CAMPAIGN, None, None),
        ("page_view", "/e2e/journey/two", None, "/e2e/journey/one", None),
        ("transition", "/e2e/journey/two/details", None, "/e2e/journey/two", None),
        ("step", "/e2e/journey/two/details", None, None, "signup_started"),
    ]
    assert {(e.visitor_id, e.session_id) for e in events} == {(state["visitor"], state["session_id"]["id"])}
    [session] = db.run(lambda s: rows(s, JourneySession))
    assert (session.ft_referrer, session.ft_source, session.ft_medium, session.ft_campaign) == (
        "news.example.org",
        "newsletter",
        "email",
        "launch",
    )
    assert (session.landing_path, session.exit_path, session.page_views) == (
        "/e2e/journey/one",
        "/e2e/journey/two/details",
        3,
    )
    assert db.run(enforcement.list_violations) == []


def test_the_session_rotates_after_30_idle_minutes_and_in_a_fresh_tab_but_the_visitor_stays(page, live_server, db):
    serve_pages(page, live_server)
    page.goto(live_server.url_for("/e2e/journey/one"))
    first = storage(page)

    page.reload()
    assert storage(page)["session_id"]["id"] == first["session_id"]["id"]  # a reload is the same visit

    page.evaluate("""() => {
        const s = JSON.parse(localStorage.getItem('ms_journey_session_id'));
        localStorage.setItem('ms_journey_session_id', JSON.stringify({id: s.id, at: Date.now() - 31 * 60 * 1000}));
    }""")
    page.reload()
    after_idle = storage(page)
    assert after_idle["session_id"]["id"] != first["session_id"]["id"]

    other_tab = page.context.new_page()
    other_tab.goto(live_server.url_for("/e2e/journey/two"))
    fresh_tab = storage(other_tab)
    assert fresh_tab["session_id"]["id"] not in (first["session_id"]["id"], after_idle["session_id"]["id"])
    assert first["visitor"] == after_idle["visitor"] == fresh_tab["visitor"]
    assert fresh_tab["first_touch"] == first["first_touch"]  # written once


@pytest.mark.parametrize("signal", ["globalPrivacyControl', {get: () => true}", "doNotTrack', {get: () => '1'}"])
def test_do_not_track_or_global_privacy_control_keeps_the_snippet_silent(page, live_server, db, signal):
    serve_pages(page, live_server)
    page.add_init_script(f"Object.defineProperty(Navigator.prototype, '{signal})")
    page.goto(live_server.url_for(f"/e2e/journey/one?{CAMPAIGN}"))
    page.evaluate("() => { journey.step('signup_started'); journey.flush(); }")
    page.click("#next")
    page.wait_for_url("**/e2e/journey/two")

    assert storage(page)["local"] == []
    assert stored_events(db, 0) == []


def test_without_storage_the_snippet_does_nothing_and_never_throws(page, live_server, db):
    serve_pages(page, live_server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied', 'SecurityError'); }})"
    )
    page.goto(live_server.url_for("/e2e/journey/one"))
    page.evaluate(
        "() => { history.pushState({}, '', '/e2e/journey/one/next'); journey.step('signup_started'); journey.flush(); }"
    )
    page.click("#next")
    page.wait_for_url("**/e2e/journey/two")

    assert errors == []
    assert stored_events(db, 0) == []


def test_another_site_embedding_the_snippet_reports_to_the_scripts_own_origin(page, live_server, db, static_site):
    site = static_site(
        {
            "/": f"""<!doctype html><html><head><script src="{live_server.url_for("/journey.js")}"></script>
        </head><body>another MailSetu site</body></html>"""
        }
    )
    page.goto(site + "/?utm_source=partner")
    page.evaluate("() => journey.flush()")

    [event] = stored_events(db, 1)
    assert (event.event_type, event.path, event.query) == ("page_view", "/", "utm_source=partner")

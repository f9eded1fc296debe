import json

import pytest

from tests.integration.journey.helpers import batch, new_id, stored_events, stored_sessions

TRUSTED = ("10.0.0.0/8",)
GEO = {"CF-IPCountry": "IN", "X-Vercel-IP-Country-Region": "MH"}


def test_the_snippet_is_public_javascript_with_the_servers_limits(client):
    response = client.get("/journey.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert '"query_keys": ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]' in response.text
    assert "__JOURNEY_CONFIG__" not in response.text
    for key in ("ms_journey_visitor_id", "ms_journey_session_id", "ms_journey_first_touch"):
        assert key in response.text


def test_a_batch_is_stored_without_auth_and_with_its_first_touch(client, db):
    body = batch(
        {"type": "page_view", "url": "https://mailssetu.in/?utm_source=nl", "age_ms": 2000},
        {"type": "transition", "url": "/pricing", "from_url": "/"},
        {"type": "step", "url": "/pricing", "step": "pricing_viewed"},
        first_touch={"referrer": "news.example.org", "utm_source": "nl", "utm_campaign": "launch"},
    )
    response = client.post("/journey/events", json=body)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 3}
    events = stored_events(db, client)
    assert [(e.event_type, e.path, e.from_path, e.step) for e in events] == [
        ("page_view", "/", None, None),
        ("transition", "/pricing", "/", None),
        ("step", "/pricing", None, "pricing_viewed"),
    ]
    assert {(e.visitor_id, e.session_id) for e in events} == {(body["visitor_id"], body["session_id"])}
    assert events[0].occurred_at < events[1].occurred_at
    [session] = stored_sessions(db, client)
    assert (session.session_id, session.landing_path, session.exit_path, session.page_views) == (
        body["session_id"],
        "/",
        "/pricing",
        2,
    )
    assert (session.ft_referrer, session.ft_source, session.ft_campaign) == ("news.example.org", "nl", "launch")


def test_later_batches_of_a_session_move_its_exit_page_and_keep_its_first_touch(client, db):
    visitor, session_id = new_id(), new_id()
    first = batch(
        {"type": "page_view", "url": "/", "age_ms": 10},
        visitor_id=visitor,
        session_id=session_id,
        first_touch={"utm_source": "nl"},
    )
    later = batch(
        {"type": "transition", "url": "/docs", "from_url": "/"},
        visitor_id=visitor,
        session_id=session_id,
        first_touch={"utm_source": "other"},
    )
    steps_only = batch({"type": "step", "url": "/docs", "step": "docs_read"}, visitor_id=visitor, session_id=session_id)
    for body in (first, later, steps_only):
        assert client.post("/journey/events", json=body).status_code == 202
    [session] = stored_sessions(db, client)
    assert (session.landing_path, session.exit_path, session.page_views, session.ft_source) == ("/", "/docs", 2, "nl")
    assert session.started_at < session.ended_at
    assert len(stored_events(db, client)) == 3


def test_the_snippets_text_plain_beacon_is_accepted(client, db):
    response = client.post(
        "/journey/events", content=json.dumps(batch()), headers={"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert response.status_code == 202
    assert len(stored_events(db, client)) == 1


def test_query_parameters_other_than_utm_are_never_stored(client, db):
    url = "https://mailssetu.in/reset?email=bob%40example.com&token=s3cr3t&utm_medium=email&next=/x"
    response = client.post(
        "/journey/events",
        json=batch(
            {"type": "page_view", "url": url}, {"type": "transition", "url": "/done?session=abc", "from_url": url}
        ),
    )
    assert response.status_code == 202
    first, second = stored_events(db, client)
    assert (first.path, first.query) == ("/reset", "utm_medium=email")
    assert (second.path, second.query, second.from_path) == ("/done", None, "/reset")
    stored_text = " ".join(f"{e.path} {e.query} {e.from_path}" for e in (first, second))
    for secret in ("bob", "example.com", "s3cr3t", "session", "abc", "next"):
        assert secret not in stored_text


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (batch(visitor_id="not-an-id"), "visitor_id"),
        (batch({"type": "page_view", "url": "/"}, {"type": "click", "url": "/"}), "events[1].type"),
        (batch({"type": "page_view", "url": "/"}, {"type": "step", "url": "/"}), "events[1].step"),
        (
            batch({"type": "page_view", "url": "/"}, {"type": "page_view", "url": "javascript:alert(1)"}),
            "events[1].url",
        ),
        (batch({"type": "page_view", "url": "/", "ip": "203.0.113.9"}), "events[0].ip"),
        (batch(*[{"type": "page_view", "url": "/"}] * 51), "events"),
        (batch(first_touch={"referrer": "javascript:alert(1)"}), "first_touch.referrer"),
    ],
)
def test_a_bad_batch_is_refused_whole_naming_the_problem(client, db, body, named):
    response = client.post("/journey/events", json=body)
    assert response.status_code in (400, 422)  # 400: the shape is wrong; 422: a rule between fields is broken
    assert named in [error["field"] for error in response.json()["errors"]]
    assert stored_events(db, client) == [] and stored_sessions(db, client) == []


def test_an_oversized_body_is_refused(client, db):
    body = batch(*[{"type": "page_view", "url": "/" + "a" * 2000}] * 40)
    response = client.post("/journey/events", json=body)
    assert response.status_code == 413
    assert stored_events(db, client) == []


@pytest.mark.parametrize("header", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_do_not_track_and_gpc_requests_store_nothing(client, db, header):
    response = client.post("/journey/events", json=batch(), headers=header)
    assert response.status_code == 202
    assert response.json() == {"accepted": 0}
    assert stored_events(db, client) == []


def test_geo_headers_are_stored_when_a_trusted_proxy_sends_them(client_via, db):
    client = client_via("10.1.2.3", trusted_proxies=TRUSTED)
    assert client.post("/journey/events", json=batch(), headers=GEO).status_code == 202
    [session] = stored_sessions(db, client)
    assert (session.country, session.region) == ("IN", "MH")


def test_geo_headers_from_an_untrusted_peer_are_ignored(client_via, db):
    client = client_via("203.0.113.9", trusted_proxies=TRUSTED)
    assert client.post("/journey/events", json=batch(), headers=GEO).status_code == 202
    [session] = stored_sessions(db, client)
    assert (session.country, session.region) == (None, None)


def test_without_trusted_proxies_no_geo_is_ever_read(client, db):
    assert client.post("/journey/events", json=batch(), headers=GEO).status_code == 202
    assert stored_sessions(db, client)[0].country is None


def test_the_ip_address_is_stored_nowhere(client_via, db):
    client = client_via("10.1.2.3", trusted_proxies=TRUSTED)
    response = client.post("/journey/events", json=batch(), headers={**GEO, "X-Forwarded-For": "198.51.100.77"})
    events, sessions = stored_events(db, client), stored_sessions(db, client)
    values = [str(getattr(row, column.key)) for row in (*events, *sessions) for column in row.__table__.columns]
    assert response.status_code == 202 and len(events) == 1 and len(sessions) == 1
    assert sessions[0].country == "IN"  # the trusted proxy's headers were read: the request was seen in full
    assert not any("10.1.2.3" in value or "198.51.100.77" in value for value in values)


def test_ingest_is_rate_limited_per_client(client_via, db):
    client = client_via("203.0.113.9", journey_batches_per_minute=2)
    statuses = [client.post("/journey/events", json=batch()).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert len(stored_events(db, client)) == 2


def test_clients_behind_a_trusted_proxy_are_limited_one_by_one(client_via, db):
    client = client_via("10.0.0.1", trusted_proxies=TRUSTED, journey_batches_per_minute=1)
    first = client.post("/journey/events", json=batch(), headers={"X-Forwarded-For": "198.51.100.1"})
    second = client.post("/journey/events", json=batch(), headers={"X-Forwarded-For": "198.51.100.2"})
    again = client.post("/journey/events", json=batch(), headers={"X-Forwarded-For": "198.51.100.1"})
    assert (first.status_code, second.status_code, again.status_code) == (202, 202, 429)


def test_the_same_visitor_may_send_many_sessions(client, db):
    visitor = new_id()
    for _ in range(2):
        assert client.post("/journey/events", json=batch(visitor_id=visitor)).status_code == 202
    assert len({s.session_id for s in stored_sessions(db, client)}) == 2


def test_a_late_batch_of_earlier_pages_becomes_the_landing_page(client, db):
    visitor, session_id = new_id(), new_id()
    recent = batch({"type": "page_view", "url": "/pricing", "age_ms": 0}, visitor_id=visitor, session_id=session_id)
    earlier = batch({"type": "page_view", "url": "/", "age_ms": 60_000}, visitor_id=visitor, session_id=session_id)
    for body in (recent, earlier):
        assert client.post("/journey/events", json=body).status_code == 202
    [session] = stored_sessions(db, client)
    assert (session.landing_path, session.exit_path, session.page_views) == ("/", "/pricing", 2)


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"type": "page_view", "url": "http://["}, "events[0].url"),
        ({"type": "page_view", "url": "https://[not-an-address]/pricing"}, "events[0].url"),
        ({"type": "transition", "url": "/", "from_url": "http://[::1"}, "events[0].from_url"),
        ({"type": "page_view", "url": "/a\u0000b"}, "events[0].url"),
    ],
)
def test_a_url_that_does_not_parse_is_a_4xx_naming_it(client, db, event, named):
    good = client.post("/journey/events", json=batch())  # the same client, a well-formed batch: stored

    response = client.post("/journey/events", json=batch(event))

    assert response.status_code in (400, 422), response.text
    assert named in [error["field"] for error in response.json()["errors"]]
    assert good.status_code == 202 and len(stored_events(db, client)) == 1


@pytest.mark.parametrize("length", [101, 150, 200])
def test_utm_values_longer_than_their_column_are_refused_naming_the_field(client, db, length):
    response = client.post("/journey/events", json=batch(first_touch={"utm_campaign": "c" * length}))

    assert response.status_code == 400
    assert "first_touch.utm_campaign" in [error["field"] for error in response.json()["errors"]]
    assert stored_sessions(db, client) == []


def test_the_longest_values_the_edge_accepts_fit_every_column(client, db):
    """On PostgreSQL a value longer than its column is an error: what the edge lets through must fit."""
    utm = {f"utm_{key}": "€" * 100 for key in ("source", "medium", "campaign", "term", "content")}
    url = "https://mailssetu.in/" + "p" * 1400 + "?" + "&".join(f"{key}={'😀' * 100}" for key in utm)
    body = batch(
        {"type": "transition", "url": url, "from_url": url},
        first_touch={"referrer": "https://" + "r" * 250 + ".example/x", **utm},
    )

    response = client.post("/journey/events", json=body)

    assert response.status_code == 202, response.text
    [event] = stored_events(db, client)
    [session] = stored_sessions(db, client)
    assert len(event.path) == 512 and len(event.query) <= 512 and event.from_path == event.path
    assert session.ft_campaign == "€" * 100 and len(session.ft_referrer) <= 255

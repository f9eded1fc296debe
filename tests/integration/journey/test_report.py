"""Report figures on a small data set whose answers are worked out by hand."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from governance.core import audit
from tests.integration.journey.helpers import batch, new_id, stored_events, stored_sessions
from tracking.journey import service
from tracking.journey.schemas import EventBatch

DAY = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
A, B, C, D = (new_id() for _ in range(4))
NEWSLETTER = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "launch"}


def pages(*paths):
    return [{"type": "page_view", "url": path} for path in paths]


def step(name, url="/signup"):
    return {"type": "step", "url": url, "step": name}


# (visitor, minutes after DAY, country, first touch, events) — one session each.
SESSIONS = [
    (
        A,
        0,
        "IN",
        NEWSLETTER,
        [
            *pages("/?utm_source=newsletter", "/pricing"),
            step("signup_started"),
            {"type": "transition", "url": "/signup/details", "from_url": "/pricing"},
            step("signup_completed"),
        ],
    ),
    (
        B,
        10,
        "DE",
        {"referrer": "https://news.example.org/post/1"},
        [*pages("/pricing"), step("signup_started"), *pages("/docs")],
    ),
    (C, 20, None, {}, pages("/")),
    (C, 120, None, {}, [*pages("/docs"), step("signup_completed", "/docs")]),  # completed, never started
    (D, 60 * 24 * 5, "FR", {}, pages("/outside-the-range")),
]


async def seed(session):
    for visitor, minutes, country, first_touch, events in SESSIONS:
        body = batch(*(dict(event) for event in events), visitor_id=visitor, first_touch=first_touch)
        for age, event in zip(range(len(events) - 1, -1, -1), body["events"], strict=False):
            event["age_ms"] = age * 1000  # a second apart, in order
        await service.record_batch(
            session, msgspec.convert(body, EventBatch), country=country, received_at=DAY + timedelta(minutes=minutes)
        )


@pytest.fixture
def seeded(db):
    db.run(seed)
    return db


def report(client, **params):
    response = client.get("/api/journey/report", params={"since": "2026-11-10", "until": "2026-11-11", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_report_counts_visitors_sessions_and_page_views(client, login_as, seeded):
    login_as("auditor")
    figures = report(client)
    assert (figures["visitors"], figures["sessions"], figures["page_views"]) == (3, 4, 7)
    assert figures["since"].startswith("2026-11-10T00:00:00") and figures["until"].startswith("2026-11-11T00:00:00")


def test_landing_and_exit_pages_are_the_first_and_last_page_of_each_session(client, login_as, seeded):
    login_as("auditor")
    figures = report(client)
    assert figures["landing_pages"] == [
        {"path": "/", "sessions": 2},
        {"path": "/docs", "sessions": 1},
        {"path": "/pricing", "sessions": 1},
    ]
    assert figures["exit_pages"] == [
        {"path": "/docs", "sessions": 2},
        {"path": "/", "sessions": 1},
        {"path": "/signup/details", "sessions": 1},
    ]


def test_first_touch_attribution_falls_back_to_the_referrer_then_direct(client, login_as, seeded):
    login_as("auditor")
    assert report(client)["attribution"] == [
        {"source": "(direct)", "medium": "(none)", "campaign": "(none)", "visitors": 1},
        {"source": "news.example.org", "medium": "referral", "campaign": "(none)", "visitors": 1},
        {"source": "newsletter", "medium": "email", "campaign": "launch", "visitors": 1},
    ]


def test_the_funnel_counts_visitors_step_after_step_with_drop_off(client, login_as, seeded):
    login_as("auditor")
    funnel = report(client, steps="signup_started,signup_completed")["funnel"]
    assert funnel == [
        {"step": "signup_started", "visitors": 2, "drop_off": 0},
        {"step": "signup_completed", "visitors": 1, "drop_off": 1},
    ]


def test_without_steps_the_funnel_follows_the_most_common_steps(client, login_as, seeded):
    login_as("auditor")
    assert [s["step"] for s in report(client)["funnel"]] == ["signup_completed", "signup_started"]


def test_countries_count_visitors_and_unknown_geo_is_its_own_row(client, login_as, seeded):
    login_as("auditor")
    assert report(client)["countries"] == [
        {"country": "(unknown)", "visitors": 1},
        {"country": "DE", "visitors": 1},
        {"country": "IN", "visitors": 1},
    ]


def test_top_limits_every_list(client, login_as, seeded):
    login_as("privacy_staff")
    figures = report(client, top=1)
    assert [len(figures[k]) for k in ("landing_pages", "exit_pages", "attribution", "countries")] == [1, 1, 1, 1]


def test_the_report_exports_as_csv(client, login_as, seeded):
    login_as("auditor")
    response = client.get(
        "/api/journey/report",
        params={
            "since": "2026-11-10",
            "until": "2026-11-11",
            "format": "csv",
            "steps": "signup_started,signup_completed",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "section,label,source,medium,campaign,count,drop_off"
    assert "summary,visitors,,,,3," in lines
    assert "landing_page,/,,,,2," in lines
    assert "attribution,,newsletter,email,launch,1," in lines
    assert "funnel,signup_completed,,,,1,1" in lines
    assert "country,DE,,,,1," in lines


def test_an_empty_range_gives_zeros(client, login_as, seeded):
    login_as("auditor")
    figures = client.get("/api/journey/report", params={"since": "2020-01-01", "until": "2020-01-02"}).json()
    assert (figures["visitors"], figures["landing_pages"], figures["funnel"]) == (0, [], [])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "soon"}, "since: 'soon' is not an ISO 8601 instant"),
        ({"since": "2026-11-10", "until": "2026-11-01"}, "since must be before until"),
        ({"until": "0001-01-01T00:00:00+14:00"}, "until:"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_report_parameters_are_a_400(client, login_as, db, params, message):
    login_as("auditor")
    response = client.get("/api/journey/report", params=params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_the_report_needs_staff(client, login_as, db):
    assert client.get("/api/journey/report").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/journey/report").status_code == 403


def test_erasure_deletes_every_event_of_the_visitor_and_is_audited(client, login_as, seeded):
    headers = login_as("privacy_staff")
    response = client.delete(f"/api/journey/visitors/{C}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"visitor_id": C, "events_deleted": 3, "sessions_deleted": 2}
    assert all(row.visitor_id != C for row in [*stored_events(seeded), *stored_sessions(seeded)])
    assert len(stored_events(seeded)) == 9
    [entry] = seeded.run(lambda s: audit.entries(s, action="journey.erase_visitor"))
    assert entry.subject == f"journey visitor {C}" and entry.details == {"events_deleted": 3, "sessions_deleted": 2}
    assert "privacy_staff" in entry.actor or "@" in entry.actor


def test_erasure_is_for_privacy_staff_only(client, login_as, seeded):
    headers = login_as("auditor")
    assert client.delete(f"/api/journey/visitors/{C}", headers=headers).status_code == 403
    assert len(stored_events(seeded)) == 12


def test_erasure_refuses_a_malformed_id(client, login_as, seeded):
    headers = login_as("privacy_staff")
    response = client.delete("/api/journey/visitors/robert'); DROP TABLE", headers=headers)
    assert response.status_code == 400 and "visitor" in response.json()["detail"]
    assert len(stored_events(seeded)) == 12  # nothing went


def test_retention_purges_the_oldest_events_in_bounded_batches(seeded):
    cutoff = DAY + timedelta(days=1)  # 11 events and 4 sessions before it
    assert seeded.run(lambda s: service.count_before(s, cutoff)) == 15
    assert seeded.run(lambda s: service.purge_before(s, cutoff, 8)) == 8
    assert seeded.run(lambda s: service.purge_before(s, cutoff, 8)) == 7  # the last 3 events, then 4 sessions
    assert seeded.run(lambda s: service.purge_before(s, cutoff, 8)) == 0
    assert [e.visitor_id for e in stored_events(seeded)] == [D]
    assert [s.visitor_id for s in stored_sessions(seeded)] == [D]


def test_sessions_per_day_count_each_utc_day_and_fill_the_empty_ones(client, login_as, seeded):
    login_as("auditor")

    daily = report(client, until="2026-11-16")["daily"]

    assert [d["date"] for d in daily] == [f"2026-11-{day}" for day in range(10, 16)]
    assert (daily[0]["sessions"], daily[0]["visitors"]) == (4, 3)
    assert [d["sessions"] for d in daily[1:]] == [0, 0, 0, 0, 1]  # D's session, five days later


def test_sessions_per_day_are_in_the_csv(client, login_as, seeded):
    login_as("auditor")

    response = client.get("/api/journey/report", params={"since": "2026-11-10", "until": "2026-11-11", "format": "csv"})

    assert "sessions_per_day,2026-11-10,,,,4," in response.text

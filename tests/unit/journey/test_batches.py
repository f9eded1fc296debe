from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from governance.core.errors import BadRequest, Invalid
from governance.core.params import Period, provide_period
from tracking.journey.schemas import EventBatch
from tracking.journey.service import accept_batch, event_rows, parse_steps, report_range, session_row

VISITOR = "0b6f1a9e-3c2d-4e5f-8a7b-1c2d3e4f5a6b"
SESSION = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def batch(*events, **fields) -> EventBatch:
    body = {"visitor_id": VISITOR, "session_id": SESSION, "events": list(events), **fields}
    return msgspec.convert(body, EventBatch)


def test_a_batch_becomes_one_row_per_event_in_order():
    rows = event_rows(
        batch(
            {"type": "page_view", "url": "https://mailssetu.in/?utm_source=nl&email=a@b.c", "age_ms": 1500},
            {"type": "step", "url": "/signup", "step": "signup_started"},
        ),
        received_at=NOW,
    )
    assert [(r["event_type"], r["path"], r["query"], r["step"]) for r in rows] == [
        ("page_view", "/", "utm_source=nl", None),
        ("step", "/signup", None, "signup_started"),
    ]
    assert [r["occurred_at"] for r in rows] == [NOW - timedelta(milliseconds=1500), NOW]


def test_a_batch_summarises_its_session_with_first_touch_and_geo():
    events = batch(
        {"type": "page_view", "url": "/", "age_ms": 3000},
        {"type": "transition", "url": "/pricing", "from_url": "/", "age_ms": 2000},
        {"type": "step", "url": "/pricing", "step": "pricing_viewed", "age_ms": 1000},
        first_touch={"referrer": "https://news.example.org/x", "utm_source": "nl", "utm_medium": "email"},
    )
    summary = session_row(accept_batch(events, received_at=NOW, country="IN", region=None))
    assert summary == {
        "session_id": SESSION, "visitor_id": VISITOR,
        "started_at": NOW - timedelta(seconds=3), "ended_at": NOW - timedelta(seconds=1),
        "landing_path": "/", "exit_path": "/pricing", "page_views": 2, "country": "IN", "region": None,
        "ft_referrer": "news.example.org", "ft_source": "nl", "ft_medium": "email",
        "ft_campaign": None, "ft_term": None, "ft_content": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"type": "step", "url": "/"}, r"events\[1\]\.step is required"),
        (
            {"type": "page_view", "url": "/", "step": "x"},
            r"events\[1\]\.step is required on step events and not allowed",
        ),
        ({"type": "transition", "url": "/b"}, r"events\[1\]\.from_url is required"),
        ({"type": "page_view", "url": "javascript:alert(1)"}, r"events\[1\]\.url must be an http"),
        ({"type": "transition", "url": "/b", "from_url": "data:x"}, r"events\[1\]\.from_url must be"),
    ],
)
def test_a_bad_event_rejects_the_whole_batch_naming_it(event, message):
    with pytest.raises(Invalid, match=message):
        event_rows(batch({"type": "page_view", "url": "/"}, event), received_at=NOW)


@pytest.mark.parametrize(
    "body",
    [
        {"visitor_id": "not-a-uuid", "session_id": SESSION, "events": [{"type": "page_view", "url": "/"}]},
        {"visitor_id": VISITOR.upper(), "session_id": SESSION, "events": [{"type": "page_view", "url": "/"}]},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": []},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": [{"type": "page_view", "url": "/"}] * 51},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": [{"type": "click", "url": "/"}]},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": [{"type": "page_view", "url": "/" + "a" * 2048}]},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": [{"type": "page_view", "url": "/", "age_ms": -1}]},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": [{"type": "step", "url": "/", "step": "Has Spaces"}]},
        {"visitor_id": VISITOR, "session_id": SESSION, "events": [{"type": "page_view", "url": "/", "ip": "1.2.3.4"}]},
    ],
)
def test_the_batch_shape_is_enforced(body):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(body, EventBatch)


def test_report_range_defaults_to_the_last_30_days():
    assert report_range(Period(None, None), now=NOW) == (NOW - timedelta(days=30), NOW)


def test_a_bare_until_date_is_its_midnight_and_excluded():
    start, end = report_range(provide_period("2026-11-01", "2026-11-02"))
    assert (start, end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))


def test_a_since_alone_reaches_until_now():
    assert report_range(provide_period("2026-11-01", None), now=NOW) == (datetime(2026, 11, 1, tzinfo=UTC), NOW)


@pytest.mark.parametrize(("start", "end"), [("yesterday", None), ("2026-11-05", "2026-11-01")])
def test_an_unreadable_or_backwards_range_is_refused(start, end):
    with pytest.raises(BadRequest):
        report_range(provide_period(start, end))


def test_funnel_steps_are_read_in_order_and_must_be_distinct():
    assert parse_steps("a, b,c") == ["a", "b", "c"]
    assert parse_steps(None) is None
    with pytest.raises(BadRequest):
        parse_steps("a,a")

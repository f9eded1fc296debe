"""Recording hits: only while allowed, batched, drained on shutdown, classified, and reported."""

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from litestar.testing import TestClient
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from governance.app import create_app
from governance.core import audit
from governance.core.db import create_engine
from tests.integration.tracking.conftest import DOMAIN, HTML, bearer, flush, tokens_in
from tracking import classify
from tracking import events as tracking_events
from tracking.models import EmailRecord, TrackedLink, TrackingEvent
from tracking.plugin import SPOOL_STATE_KEY
from tracking.spool import Spool

FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
THREE_LINKS = "<body>" + "".join(f'<a href="https://shop.example/{i}">{i}</a>' for i in range(3)) + "</body>"


def events(db) -> list[tuple[str, str]]:
    rows = db.run(
        lambda s: s.execute(select(TrackingEvent.kind, TrackingEvent.client_class).order_by(TrackingEvent.id))
    )
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("loader", ["process", "loop"])
def test_a_graceful_shutdown_drains_every_queued_hit(db, settings, domain, send, loader):
    domain(track_opens=True, track_clicks=True)
    body = send()
    pixel, link = tokens_in(body["html"], "o")[0], tokens_in(body["html"], "c")[0]

    with TestClient(create_app(replace(settings, spool_loader=loader)), base_url="http://testserver.local") as client:
        answered = sum(client.get(f"/t/o/{pixel}.gif").status_code == 200 for _ in range(150))
        answered += sum(client.get(f"/t/c/{link}", follow_redirects=False).status_code == 302 for _ in range(50))
        # no flush: leaving the block shuts the app down, which must write everything answered

    assert answered == 200
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(TrackingEvent))) == 200


def test_a_loader_process_of_its_own_records_and_classifies_hits_as_the_event_loop_does(db, settings, domain, send):
    domain(track_opens=True, track_clicks=True)
    recorded = {}
    for loader in ("process", "loop"):
        db.run(lambda s: s.execute(delete(TrackingEvent)))
        body = send(message_id=f"<{loader}@acme.example>")  # its click seconds after sending: a scanner's
        pixel, link = tokens_in(body["html"], "o")[0], tokens_in(body["html"], "c")[0]
        with TestClient(
            create_app(replace(settings, spool_loader=loader)), base_url="http://testserver.local"
        ) as client:
            spool = client.app.state[SPOOL_STATE_KEY]
            assert (spool._loader_process is not None) == (loader == "process")
            for _ in range(3):
                client.get(f"/t/o/{pixel}.gif", headers=FIREFOX)
            client.get(f"/t/c/{link}", headers=FIREFOX, follow_redirects=False)
            client.get(f"/t/o/{pixel}.gif", headers={"User-Agent": "Mozilla/5.0 (compatible; heritrix/3.2.0)"})
            flush(client)  # answered by the loader process, once it has loaded everything
            recorded[loader] = sorted(events(db))

    assert recorded["process"] == recorded["loop"]
    assert recorded["process"] == sorted(
        [("open", classify.HUMAN)] * 3 + [("click", classify.SCANNER), ("open", classify.BOT)]
    )


def open_hit(email_id: int) -> tracking_events.Hit:
    return tracking_events.Hit(uuid.uuid4(), "open", email_id, None, datetime.now(UTC), "human", "test")


def test_stopping_the_spool_loads_what_is_still_spooled_and_leaves_no_file(db, domain, send, tmp_path):
    domain(track_opens=True)
    email_id = send()["id"]

    async def answer_then_stop() -> tuple[list[bool], int]:
        engine = create_engine(db.url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)

        async def record(batch: list[tracking_events.Hit]) -> int:
            async with sessions() as session, session.begin():
                return await tracking_events.record_hits(session, batch, classify.BurstDetector())

        spool = Spool("test", tmp_path / "own", tracking_events.Hit, record)
        await spool.start()
        answered = await asyncio.gather(*(spool.put(open_hit(email_id)) for _ in range(300)))
        await spool.stop()
        await engine.dispose()
        return answered, spool.loaded

    answered, loaded = asyncio.run(answer_then_stop())

    assert answered == [True] * 300 and loaded == 300
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(TrackingEvent))) == 300
    assert list((tmp_path / "own").iterdir()) == []  # loaded, nothing left for anybody to replay


def test_the_loader_stores_events_as_the_orm_would_and_a_replayed_hit_once(db, domain, send):
    """The loader's insert skips Core's per-row processing (on SQLite the batch is one JSON
    parameter converted in SQL): every value must come out as the ORM stores and reads it."""
    domain(track_opens=True, track_clicks=True)
    email_id = send()["id"]
    india = timezone(timedelta(hours=5, minutes=30))
    times = [
        datetime(2026, 1, 2, 3, 4, 5, micro, zone) for micro in (0, 7, 120, 500_000, 999_999) for zone in (UTC, india)
    ]
    hits = [tracking_events.Hit(uuid.uuid4(), "open", email_id, None, at, "human", "test") for at in times]
    hits.append(tracking_events.Hit(uuid.uuid4(), "click", email_id, 0, times[3], "bot", "a reason, with 'quotes'"))

    async def record(session: AsyncSession) -> int:
        return await tracking_events.record_hits(session, [*hits, hits[1]], classify.BurstDetector())

    async def stored_by_the_orm(session: AsyncSession) -> None:
        await session.execute(delete(TrackingEvent))
        session.add_all(TrackingEvent(hit_id=h.hit_id, occurred_at=h.at, email_id=email_id, kind=h.kind,
                                      link_index=h.link_index, client_class=h.client_class, class_reason=h.reason)
                        for h in hits)  # fmt: skip

    def stored() -> list[tuple]:
        query = text("SELECT hit_id, occurred_at, email_id, kind, link_index, client_class, class_reason"
                     " FROM tracking_events ORDER BY id")  # fmt: skip
        return [tuple(row) for row in db.run(lambda s: s.execute(query))]

    def read() -> list[tuple]:
        rows = db.run(lambda s: s.scalars(select(TrackingEvent).order_by(TrackingEvent.id)))
        return [(e.hit_id, e.occurred_at, e.link_index, e.class_reason) for e in rows]

    db.run(record)
    by_the_loader = stored()
    assert read() == [(h.hit_id, h.at, h.link_index, h.reason) for h in hits]  # the replayed hit once
    db.run(stored_by_the_orm)
    assert stored() == by_the_loader  # the same values, in the database's own terms


def test_hits_are_fsynced_and_written_in_groups_not_one_each(client, db, domain, send):
    domain(track_opens=True)
    email_id = send()["id"]
    spool = client.app.state[SPOOL_STATE_KEY]

    async def many_hits() -> tuple[int, int]:
        groups, loads = spool.groups, spool.loads
        await asyncio.gather(*(spool.put(open_hit(email_id)) for _ in range(500)))
        await spool.flush()
        return spool.groups - groups, spool.loads - loads

    groups, loads = client.blocking_portal.call(many_hits)

    assert db.run(lambda s: s.scalar(select(func.count()).select_from(TrackingEvent))) == 500
    assert 1 <= groups < 10 and 1 <= loads < 10


def test_turning_opens_off_after_sending_stops_recording_from_then_on(client, db, api_key, domain, send):
    domain(track_opens=True, track_clicks=True)
    body = send()
    pixel, link = tokens_in(body["html"], "o")[0], tokens_in(body["html"], "c")[0]
    client.get(f"/t/o/{pixel}.gif")
    flush(client)

    client.patch(f"/api/emails/{body['id']}/tracking", json={"track_opens": False}, headers=bearer(api_key))
    after = client.get(f"/t/o/{pixel}.gif")
    client.get(f"/t/c/{link}", follow_redirects=False)
    flush(client)

    assert after.status_code == 200  # still a pixel: the client sees no difference
    assert [kind for kind, _ in events(db)] == ["open", "click"]
    assert db.run(lambda s: audit.entries(s, action="tracking.email_settings"))[0].subject == f"email {body['id']}"


def test_turning_the_domain_off_stops_recording_for_emails_already_sent(client, db, api_key, domain, send):
    domain(track_opens=True, track_clicks=True)
    body = send()
    pixel, link = tokens_in(body["html"], "o")[0], tokens_in(body["html"], "c")[0]

    domain(track_opens=False, track_clicks=True)
    pixel_response = client.get(f"/t/o/{pixel}.gif")
    client.get(f"/t/c/{link}", follow_redirects=False)  # clicks are still on: this one IS recorded
    flush(client)

    assert pixel_response.status_code == 200
    assert [kind for kind, _ in events(db)] == ["click"]


def test_suppressing_a_recipient_after_sending_stops_recording(client, db, api_key, domain, send):
    domain(track_opens=True)
    suppressed = tokens_in(send(recipient="someone@bank.example")["html"], "o")[0]
    allowed = tokens_in(send(recipient="someone@other.example")["html"], "o")[0]

    client.post("/api/suppressions", json={"recipient": "bank.example"}, headers=bearer(api_key))
    client.get(f"/t/o/{suppressed}.gif")
    client.get(f"/t/o/{allowed}.gif")  # another recipient, still allowed: recorded
    flush(client)

    recorded = db.run(lambda s: s.scalars(select(TrackingEvent.email_id)))
    allowed_id = db.run(lambda s: s.scalar(select(func.max(EmailRecord.id))))
    assert list(recorded) == [allowed_id]


def test_machine_and_human_hits_are_classified_and_reported_side_by_side(client, db, api_key, domain, send):
    domain(track_opens=True, track_clicks=True)
    with freeze_time("2026-03-01 12:00:00", tick=True, real_asyncio=True) as frozen:
        first = send(html=THREE_LINKS)
        second = send(html=HTML)
        client.get(f"/t/o/{tokens_in(first['html'], 'o')[0]}.gif", headers={"User-Agent": "Mozilla/5.0"})
        client.get(
            f"/t/c/{tokens_in(second['html'], 'c')[0]}", headers=FIREFOX, follow_redirects=False
        )  # seconds after sending
        frozen.tick(timedelta(minutes=10))
        client.get(f"/t/o/{tokens_in(first['html'], 'o')[0]}.gif", headers=FIREFOX)
        client.get(f"/t/o/{tokens_in(second['html'], 'o')[0]}.gif", headers=FIREFOX)
        client.get(f"/t/c/{tokens_in(second['html'], 'c')[0]}", headers=FIREFOX, follow_redirects=False)
        for token in tokens_in(first["html"], "c"):  # every link of one email within a second: a scanner
            client.get(f"/t/c/{token}", headers=FIREFOX, follow_redirects=False)
        flush(client)

    report = client.get(f"/api/domains/{DOMAIN}/tracking/report", headers=bearer(api_key)).json()
    first_events = client.get(f"/api/emails/{first['id']}/events", headers=bearer(api_key)).json()["items"]

    assert report["opens"] == {"raw": 3, "human": 2}
    assert report["unique_opens"] == {"raw": 2, "human": 2}
    assert report["clicks"] == {"raw": 5, "human": 1}
    assert report["unique_clicks"] == {"raw": 2, "human": 1}
    assert report["by_client_class"]["apple_privacy_proxy"] == {"opens": 1, "clicks": 0}
    assert report["by_client_class"]["security_scanner"] == {"opens": 0, "clicks": 4}
    sale = next(link for link in report["links"] if link["url"] == "https://shop.example/sale?a=1&b=2")
    assert sale["clicks"] == {"raw": 2, "human": 1}
    clicks = [e for e in first_events if e["kind"] == "click"]
    assert {e["client_class"] for e in clicks} == {"security_scanner"} and all(
        "links of this email" in e["reason"] for e in clicks
    )
    assert [e["url"] for e in clicks] == [f"https://shop.example/{i}" for i in range(3)]


def test_the_report_can_be_limited_to_a_time_window(client, api_key, domain, send):
    domain(track_opens=True)
    pixel = tokens_in(send()["html"], "o")[0]
    client.get(f"/t/o/{pixel}.gif")
    flush(client)

    later = client.get(
        f"/api/domains/{DOMAIN}/tracking/report", params={"since": "2999-01-01T00:00:00Z"}, headers=bearer(api_key)
    ).json()
    everything = client.get(f"/api/domains/{DOMAIN}/tracking/report", headers=bearer(api_key)).json()

    assert later["opens"]["raw"] == 0 and everything["opens"]["raw"] == 1


def test_no_ip_address_or_user_agent_is_stored(client, db, domain, send):
    domain(track_opens=True)
    pixel = tokens_in(send()["html"], "o")[0]
    client.get(
        f"/t/o/{pixel}.gif", headers={"User-Agent": "Mozilla/5.0 SecretAgent/7", "X-Forwarded-For": "203.0.113.9"}
    )
    flush(client)

    row = db.run(lambda s: s.scalar(select(TrackingEvent)))
    stored = " ".join(str(getattr(row, column.key)) for column in TrackingEvent.__table__.columns)
    assert "SecretAgent" not in stored and "203.0.113" not in stored and "testclient" not in stored


def test_the_retention_helpers_delete_at_most_limit_rows_and_count_what_is_left(client, db, domain, send):
    domain(track_opens=True, track_clicks=True)
    with freeze_time("2026-01-01 00:00:00", tick=True, real_asyncio=True):
        old = send()
        for _ in range(5):
            client.get(f"/t/o/{tokens_in(old['html'], 'o')[0]}.gif")
        flush(client)
    recent = send()
    client.get(f"/t/o/{tokens_in(recent['html'], 'o')[0]}.gif")
    flush(client)
    cutoff = datetime(2026, 2, 1, tzinfo=UTC)

    assert db.run(lambda s: tracking_events.count_events_before(s, cutoff)) == 5
    assert db.run(lambda s: tracking_events.purge_events_before(s, cutoff, 3)) == 3
    assert db.run(lambda s: tracking_events.purge_events_before(s, cutoff, 3)) == 2
    assert db.run(lambda s: tracking_events.count_events_before(s, cutoff)) == 0
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(TrackingEvent))) == 1

    assert db.run(lambda s: tracking_events.count_email_records_before(s, cutoff)) == 1
    assert db.run(lambda s: tracking_events.purge_email_records_before(s, cutoff, 10)) == 1
    assert db.run(lambda s: tracking_events.purge_email_records_before(s, cutoff, 10)) == 0
    scrubbed = db.run(lambda s: s.get(EmailRecord, old["id"]))
    assert scrubbed.recipient_key is None and scrubbed.tracking_data_purged_at is not None
    assert db.run(lambda s: s.scalar(select(func.count()).where(TrackedLink.email_id == old["id"]))) == 0
    assert db.run(lambda s: s.scalar(select(func.count()).where(TrackedLink.email_id == recent["id"]))) == 1

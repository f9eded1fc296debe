"""What the dashboard shows a sender: finding an email, the daily series, clicks per link, erasure."""

import csv
import io
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from governance.core import audit
from tests.integration.tracking.conftest import DOMAIN, bearer, flush, tokens_in
from tracking.models import EmailRecord, TrackedLink, TrackingEvent

FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
GMAIL = {"User-Agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"}
APPLE = {"User-Agent": "Mozilla/5.0"}
TWO_LINKS = '<body><a href="https://shop.example/a">A</a><a href="https://shop.example/b">B</a></body>'


def csv_rows(response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


# --- finding an email --------------------------------------------------------------------------------


def test_an_email_is_found_by_its_message_id_with_or_without_angle_brackets(client, api_key, domain, send):
    domain(track_opens=True)
    wanted = send(message_id="<order-42@acme.example>")
    send(message_id="<order-43@acme.example>")

    bare = client.get("/api/emails", params={"message_id": "order-42@acme.example"}, headers=bearer(api_key))
    quoted = client.get("/api/emails", params={"message_id": "<order-42@acme.example>"}, headers=bearer(api_key))
    everything = client.get("/api/emails", headers=bearer(api_key)).json()

    assert bare.status_code == 200 and bare.json() == quoted.json()
    assert [e["id"] for e in bare.json()["items"]] == [wanted["id"]] and bare.json()["total"] == 1
    assert bare.json()["items"][0]["domain"] == DOMAIN and bare.json()["items"][0]["opens"]["decided"] is True
    assert everything["total"] == 2  # the other email exists: the filter is what left it out


def test_emails_are_listed_newest_first_a_page_at_a_time_within_a_period(client, api_key, domain, send):
    domain(track_opens=True)
    with freeze_time("2026-03-01 12:00:00", tick=True, real_asyncio=True) as frozen:
        old = send(message_id="<old@acme.example>")
        frozen.tick(timedelta(days=2))
        ids = [send(message_id=f"<new-{n}@acme.example>")["id"] for n in range(3)]

    page = client.get("/api/emails", params={"limit": 2, "offset": 1}, headers=bearer(api_key)).json()
    recent = client.get("/api/emails", params={"since": "2026-03-02"}, headers=bearer(api_key)).json()
    before = client.get("/api/emails", params={"until": "2026-03-02", "domain": DOMAIN}, headers=bearer(api_key))

    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [e["id"] for e in page["items"]] == [ids[1], ids[0]]
    assert sorted(e["id"] for e in recent["items"]) == ids
    assert [e["id"] for e in before.json()["items"]] == [old["id"]]


def test_other_accounts_emails_are_never_listed_and_their_domains_do_not_exist(client, db, api_key, domain, send):
    domain(track_opens=True)
    send(message_id="<secret@acme.example>")
    intruder = bearer(db.create_api_key("other"))

    theirs = client.get("/api/emails", params={"message_id": "<secret@acme.example>"}, headers=intruder).json()
    by_domain = client.get("/api/emails", params={"domain": DOMAIN}, headers=intruder)
    ours = client.get("/api/emails", params={"message_id": "<secret@acme.example>"}, headers=bearer(api_key)).json()

    assert theirs["total"] == 0 and ours["total"] == 1
    assert by_domain.status_code == 404


# --- the daily series, rates, and who counts as a person -------------------------------------------------


@pytest.fixture
def two_days(client, api_key, domain, send):
    """Day 1: two emails sent, one opened through Gmail's proxy, by Apple MPP and in Firefox; one
    link clicked twice by a person. Day 3: one email sent and opened. Day 2: nothing."""
    domain(track_opens=True, track_clicks=True)
    with freeze_time("2026-03-01 09:00:00", tick=True, real_asyncio=True) as frozen:
        first, second = send(html=TWO_LINKS), send(html=TWO_LINKS)
        frozen.tick(timedelta(minutes=30))
        pixel, (link_a, _) = tokens_in(first["html"], "o")[0], tokens_in(first["html"], "c")
        for agent in (GMAIL, APPLE, FIREFOX):
            client.get(f"/t/o/{pixel}.gif", headers=agent)
        client.get(f"/t/c/{link_a}", headers=FIREFOX, follow_redirects=False)
        frozen.tick(timedelta(minutes=30))
        client.get(f"/t/c/{link_a}", headers=FIREFOX, follow_redirects=False)
        client.get(f"/t/o/{tokens_in(second['html'], 'o')[0]}.gif", headers=APPLE)  # machine only
        frozen.tick(timedelta(days=2))
        third = send(html=TWO_LINKS)
        client.get(f"/t/o/{tokens_in(third['html'], 'o')[0]}.gif", headers=GMAIL)
        flush(client)
    return first, second, third


def test_the_daily_series_counts_raw_and_human_with_rates_and_empty_days(client, api_key, two_days):
    response = client.get(
        f"/api/domains/{DOMAIN}/tracking/daily",
        params={"since": "2026-03-01", "until": "2026-03-04"},
        headers=bearer(api_key),
    )

    assert response.status_code == 200
    day_one, day_two, day_three = response.json()
    assert [day_one["date"], day_two["date"], day_three["date"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert (day_one["sent"], day_one["opens_raw"], day_one["opens_human"]) == (2, 4, 2)  # Gmail + Firefox
    assert (day_one["unique_opens_raw"], day_one["unique_opens_human"]) == (2, 1)
    assert (day_one["clicks_raw"], day_one["clicks_human"], day_one["unique_clicks_human"]) == (2, 2, 1)
    assert (day_one["open_rate_raw"], day_one["open_rate_human"], day_one["click_rate_human"]) == (1.0, 0.5, 0.5)
    assert day_two == {**day_two, "sent": 0, "opens_raw": 0, "open_rate_raw": None, "click_rate_human": None}
    assert (day_three["sent"], day_three["opens_human"], day_three["open_rate_human"]) == (1, 1, 1.0)


def test_the_daily_series_downloads_as_csv_with_the_same_figures(client, api_key, two_days):
    params = {"since": "2026-03-01", "until": "2026-03-04"}
    as_json = client.get(f"/api/domains/{DOMAIN}/tracking/daily", params=params, headers=bearer(api_key)).json()

    response = client.get(
        f"/api/domains/{DOMAIN}/tracking/daily", params={**params, "format": "csv"}, headers=bearer(api_key)
    )

    rows = csv_rows(response)
    assert [row["date"] for row in rows] == [day["date"] for day in as_json]
    assert rows[0]["opens_human"] == "2" and rows[0]["open_rate_human"] == "0.5" and rows[1]["open_rate_raw"] == ""


def test_gmail_proxy_opens_are_human_apple_privacy_opens_are_not_and_the_breakdown_stays(client, api_key, two_days):
    report = client.get(f"/api/domains/{DOMAIN}/tracking/report", headers=bearer(api_key)).json()

    assert report["opens"] == {"raw": 5, "human": 3}  # Gmail twice, Firefox once; Apple twice is machine
    assert report["unique_opens"] == {"raw": 3, "human": 2}
    assert report["by_client_class"]["gmail_proxy"] == {"opens": 2, "clicks": 0}
    assert report["by_client_class"]["apple_privacy_proxy"] == {"opens": 2, "clicks": 0}
    assert report["by_client_class"]["human"] == {"opens": 1, "clicks": 2}


def test_a_series_longer_than_400_days_is_refused_naming_since(client, api_key, domain):
    domain()
    response = client.get(
        f"/api/domains/{DOMAIN}/tracking/daily",
        params={"since": "2024-01-01", "until": "2026-01-01"},
        headers=bearer(api_key),
    )
    fine = client.get(f"/api/domains/{DOMAIN}/tracking/daily", headers=bearer(api_key))

    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "since"
    assert fine.status_code == 200 and len(fine.json()) in (30, 31)  # default: the last 30 days


def test_clicks_per_link_are_paginated_and_export_as_csv(client, api_key, two_days):
    first_page = client.get(
        f"/api/domains/{DOMAIN}/tracking/links", params={"limit": 1}, headers=bearer(api_key)
    ).json()
    download = client.get(f"/api/domains/{DOMAIN}/tracking/links", params={"format": "csv"}, headers=bearer(api_key))

    assert first_page["total"] == 1 and first_page["items"] == [
        {
            "url": "https://shop.example/a",
            "clicks_raw": 2,
            "clicks_human": 2,
            "unique_clicks_raw": 1,
            "unique_clicks_human": 1,
        }
    ]
    assert csv_rows(download) == [
        {
            "url": "https://shop.example/a",
            "clicks_raw": "2",
            "clicks_human": "2",
            "unique_clicks_raw": "1",
            "unique_clicks_human": "1",
        }
    ]


# --- erasure of one recipient's data ------------------------------------------------------------------


def count(db, model, *where) -> int:
    return db.run(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def test_erasing_a_recipient_removes_their_hashes_events_and_links_and_is_audited(client, db, api_key, domain, send):
    domain(track_opens=True, track_clicks=True)
    erased = [send(recipient="Reader@Mail.Example", html=TWO_LINKS) for _ in range(2)]
    kept = send(recipient="someone-else@mail.example", html=TWO_LINKS)
    for email in (*erased, kept):
        client.get(f"/t/o/{tokens_in(email['html'], 'o')[0]}.gif", headers=FIREFOX)
    flush(client)

    response = client.post("/api/recipients/erase", json={"recipient": "reader@mail.example"}, headers=bearer(api_key))

    assert response.status_code == 200
    assert response.json() == {"emails": 2, "events_deleted": 2, "links_deleted": 4}
    erased_ids = [e["id"] for e in erased]
    assert count(db, TrackingEvent, TrackingEvent.email_id.in_(erased_ids)) == 0
    assert count(db, TrackedLink, TrackedLink.email_id.in_(erased_ids)) == 0
    assert count(db, EmailRecord, EmailRecord.id.in_(erased_ids), EmailRecord.recipient_key.is_not(None)) == 0
    # the other recipient's data is untouched
    assert count(db, TrackingEvent, TrackingEvent.email_id == kept["id"]) == 1
    assert count(db, EmailRecord, EmailRecord.id == kept["id"], EmailRecord.recipient_key.is_not(None)) == 1
    [entry] = db.run(lambda s: audit.entries(s, action="tracking.recipient_erase"))
    assert entry.details["events_deleted"] == 2 and "reader" not in str(entry.details) + entry.subject


def test_after_erasure_no_hit_of_those_emails_is_recorded_and_tracking_cannot_come_back(
    client, db, api_key, domain, send
):
    domain(track_opens=True, track_clicks=True)
    erased, kept = send(recipient="reader@mail.example"), send(recipient="other@mail.example")
    client.post("/api/recipients/erase", json={"recipient": "reader@mail.example"}, headers=bearer(api_key))

    pixel = client.get(f"/t/o/{tokens_in(erased['html'], 'o')[0]}.gif", headers=FIREFOX)
    link = client.get(f"/t/c/{tokens_in(erased['html'], 'c')[0]}", headers=FIREFOX, follow_redirects=False)
    client.get(f"/t/o/{tokens_in(kept['html'], 'o')[0]}.gif", headers=FIREFOX)
    flush(client)
    again = client.patch(f"/api/emails/{erased['id']}/tracking", json={"track_opens": True}, headers=bearer(api_key))
    second = client.post("/api/recipients/erase", json={"recipient": "reader@mail.example"}, headers=bearer(api_key))

    assert pixel.status_code == 200 and link.status_code == 302  # the recipient sees no difference
    assert db.scalar("SELECT count(*) FROM tracking_events") == 1
    assert count(db, TrackingEvent, TrackingEvent.email_id == kept["id"]) == 1
    assert again.status_code == 409 and "erased" in again.json()["detail"]
    assert second.json() == {"emails": 0, "events_deleted": 0, "links_deleted": 0}


def test_erasure_acts_on_the_callers_account_only(client, db, api_key, domain, send):
    domain(track_opens=True)
    email = send(recipient="reader@mail.example")
    client.get(f"/t/o/{tokens_in(email['html'], 'o')[0]}.gif", headers=FIREFOX)
    flush(client)

    theirs = client.post(
        "/api/recipients/erase",
        json={"recipient": "reader@mail.example"},
        headers=bearer(db.create_api_key("other")),
    )

    assert theirs.status_code == 200 and theirs.json()["emails"] == 0
    assert count(db, TrackingEvent, TrackingEvent.email_id == email["id"]) == 1


@pytest.mark.parametrize(("body", "status"), [({"recipient": "mail.example"}, 422), ({"who": "a@b.example"}, 400)])
def test_erasure_needs_an_address(client, api_key, body, status):
    response = client.post("/api/recipients/erase", json=body, headers=bearer(api_key))

    assert response.status_code == status


def test_an_admin_erases_for_a_named_account_only(client, db, login_as, domain, send):
    domain(track_opens=True)
    send(recipient="reader@mail.example")
    account_id = db.create_user("member", account="acme")["account_id"]
    csrf = login_as("admin")

    without = client.post("/api/recipients/erase", json={"recipient": "reader@mail.example"}, headers=csrf)
    named = client.post(
        f"/api/recipients/erase?account_id={account_id}", json={"recipient": "reader@mail.example"}, headers=csrf
    )

    assert without.status_code == 400
    assert named.status_code == 200 and named.json()["emails"] == 1


# --- registration: the input the database could not hold, and large emails ----------------------------


@pytest.mark.parametrize(
    ("field", "size"), [("message_id", 1), ("html", 1), ("text", 1), ("html", 100_000), ("text", 100_000)]
)
def test_a_nul_character_is_refused_naming_the_field_and_nothing_is_kept(client, api_key, domain, field, size):
    domain(track_opens=True)
    body = {"domain": DOMAIN, "recipient": "a@b.example", "message_id": "<m@x>", "html": "<p>hi</p>"}
    good = client.post("/api/emails", json=body, headers=bearer(api_key))
    nul = "a" * size + "\u0000b"  # 100,000 characters: checked in a rewriting process, after the record's insert

    response = client.post("/api/emails", json={**body, "message_id": "<nul@x>", field: nul}, headers=bearer(api_key))

    assert good.status_code == 201
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == field
    kept = client.get("/api/emails", params={"domain": DOMAIN, "message_id": "<nul@x>"}, headers=bearer(api_key))
    assert kept.status_code == 200 and kept.json()["total"] == 0


def test_a_large_email_is_rewritten_off_the_event_loop_like_a_small_one(client, api_key, domain, send):
    domain(track_opens=True, track_clicks=True)
    filler = "<p>" + "Lorem ipsum dolor sit amet. " * 40 + "</p>"
    large = "<body>" + "".join(f'{filler}<a href="https://shop.example/{n}">{n}</a>' for n in range(120)) + "</body>"

    body = send(html=large)

    assert len(large) > 100_000 and body["links_tracked"] == 120
    links = tokens_in(body["html"], "c")
    redirect = client.get(f"/t/c/{links[77]}", follow_redirects=False)
    assert redirect.status_code == 302 and redirect.headers["location"] == "https://shop.example/77"
    assert len(tokens_in(body["html"], "o")) == 1 and body["html"].count(filler) == 120


def test_staff_see_every_domains_opens_and_clicks_in_one_overview(client, api_key, two_days, login_as):
    login_as("auditor")

    whole = client.get("/api/tracking/overview").json()
    day_one = client.get("/api/tracking/overview", params={"since": "2026-03-01", "until": "2026-03-02"}).json()

    assert whole["total"] == 1 and [r["domain"] for r in whole["items"]] == [DOMAIN]
    assert whole["items"][0]["opens"] == {"raw": 5, "human": 3}
    assert day_one["items"][0]["opens"] == {"raw": 4, "human": 2} and day_one["items"][0]["clicks"]["human"] == 2


def test_the_overview_is_for_staff_not_members_or_api_keys(client, api_key, login_as):
    assert client.get("/api/tracking/overview", headers=bearer(api_key)).status_code == 403
    login_as("member", account="acme")
    assert client.get("/api/tracking/overview").status_code == 403

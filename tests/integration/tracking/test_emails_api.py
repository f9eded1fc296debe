"""Registering emails: the decision per kind, the rewritten bodies, suppressions and later changes."""

import itertools

import pytest
from sqlalchemy import select

from governance.core import audit
from tests.integration.tracking.conftest import DOMAIN, HTML, bearer, tokens_in
from tracking.models import EmailRecord, RecipientSuppression

SUPPRESSIONS = {None: None, "recipient_address": "reader@mail.example", "recipient_domain": "mail.example"}


@pytest.mark.parametrize(
    ("kind", "domain_allows", "requested", "suppressed_by"),
    list(itertools.product(("opens", "clicks"), (True, False), (None, True, False), tuple(SUPPRESSIONS))),
)
def test_each_precedence_combination_is_decided_fixed_and_applied(
    client, api_key, domain, send, kind, domain_allows, requested, suppressed_by
):
    other = "clicks" if kind == "opens" else "opens"
    domain(**{f"track_{kind}": domain_allows, f"track_{other}": True})
    if suppressed_by:
        client.post("/api/suppressions", json={"recipient": SUPPRESSIONS[suppressed_by]}, headers=bearer(api_key))

    body = send(**({f"track_{kind}": requested} if requested is not None else {}))

    decision = body["tracking"][kind]
    enabled = not suppressed_by and domain_allows and requested is not False
    decided_by = suppressed_by or ("domain" if not domain_allows else "email" if requested is not None else "domain")
    assert (decision["decided"], decision["active"], decision["decided_by"]) == (enabled, enabled, decided_by)
    assert decision["overridden"] == (requested is True and not enabled)
    assert bool(tokens_in(body["html"], "o" if kind == "opens" else "c")) == enabled
    # the other kind is decided on its own (a suppression forbids both)
    assert body["tracking"][other]["decided"] == (not suppressed_by)
    assert client.get(f"/api/emails/{body['id']}/tracking", headers=bearer(api_key)).json() == body["tracking"]


def test_registration_returns_bodies_with_tracking_and_lists_skipped_links(domain, send):
    domain(track_opens=True, track_clicks=True, track_text_links=True)
    html = HTML.replace("</body>", '<a href="https://acme.example/unsubscribe">Unsubscribe</a></body>')

    body = send(
        html=html,
        text="Sale: https://shop.example/sale?a=1&b=2\n",
        list_unsubscribe="<https://acme.example/unsubscribe>, <mailto:u@acme.example>",
    )

    assert body["links_tracked"] == 2
    assert len(tokens_in(body["html"], "c")) == 1 and len(tokens_in(body["html"], "o")) == 1
    assert len(tokens_in(body["text"], "c")) == 1
    assert (
        'href="mailto:help@acme.example"' in body["html"] and 'href="https://acme.example/unsubscribe"' in body["html"]
    )
    assert body["links_skipped"] == [{"url": "https://acme.example/unsubscribe", "reason": "unsubscribe link"}]


def test_text_links_stay_untouched_unless_the_domain_tracks_them(domain, send):
    domain(track_opens=True, track_clicks=True)

    body = send(text="See https://shop.example/\n")

    assert body["text"] == "See https://shop.example/\n"


def test_the_recipient_is_stored_only_as_keyed_hashes(db, domain, send):
    domain(track_opens=True)
    send(recipient="Reader@Mail.Example")

    record = db.run(lambda s: s.scalar(select(EmailRecord)))
    assert "reader" not in f"{record.recipient_key}{record.recipient_domain_key}" and len(record.recipient_key) == 64


def test_suppressions_are_hashed_listed_without_addresses_and_removable(client, db, api_key):
    created = client.post("/api/suppressions", json={"recipient": "Someone@Bank.Example"}, headers=bearer(api_key))
    client.post("/api/suppressions", json={"recipient": "bank.example"}, headers=bearer(api_key))

    listed = client.get("/api/suppressions", headers=bearer(api_key)).json()["items"]
    keys = db.run(lambda s: s.scalars(select(RecipientSuppression.recipient_key)))
    removed = client.delete(f"/api/suppressions/{created.json()['id']}", headers=bearer(api_key))

    assert created.status_code == 201 and [s["kind"] for s in listed] == ["address", "domain"]
    assert all("bank" not in key for key in keys)
    assert removed.status_code == 200
    assert client.get("/api/suppressions", headers=bearer(api_key)).json()["total"] == 1


def test_emails_of_other_accounts_are_not_found(client, db, domain, send):
    domain(track_opens=True)
    email_id = send()["id"]
    intruder = bearer(db.create_api_key("other"))

    assert client.get(f"/api/emails/{email_id}/tracking", headers=intruder).status_code == 404
    assert (
        client.patch(f"/api/emails/{email_id}/tracking", json={"track_opens": False}, headers=intruder).status_code
        == 404
    )
    assert client.get(f"/api/emails/{email_id}/events", headers=intruder).status_code == 404
    register = client.post(
        "/api/emails",
        json={"domain": DOMAIN, "recipient": "a@b.example", "message_id": "<x>", "html": "<p>"},
        headers=intruder,
    )
    assert register.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"domain": DOMAIN, "recipient": "nobody", "message_id": "<m>", "html": "<p>"}, "recipient"),
        ({"domain": DOMAIN, "recipient": "a@b.example", "message_id": "<m>"}, "html"),
        ({"domain": DOMAIN, "recipient": "a@b.example", "html": "<p>"}, "message_id"),
        (
            {"domain": DOMAIN, "recipient": "a@b.example", "message_id": "<m>", "html": "<p>", "track_opens": "yes"},
            "track_opens",
        ),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(client, api_key, domain, body, field):
    domain(track_opens=True)

    response = client.post("/api/emails", json=body, headers=bearer(api_key))

    assert response.status_code in (400, 422) and field in response.json()["detail"]


def test_a_member_signed_in_to_the_dashboard_can_register_too(client, domain, login_as):
    domain(track_opens=True)
    csrf = login_as("member", account="acme")

    response = client.post(
        "/api/emails",
        json={"domain": DOMAIN, "recipient": "a@b.example", "message_id": "<m>", "html": "<p>"},
        headers=csrf,
    )

    assert response.status_code == 201


def test_turning_tracking_off_after_sending_is_recorded_and_audited(client, db, api_key, domain, send):
    domain(track_opens=True, track_clicks=True)
    email_id = send()["id"]

    response = client.patch(f"/api/emails/{email_id}/tracking", json={"track_opens": False}, headers=bearer(api_key))

    opens = response.json()["opens"]
    assert response.status_code == 200
    assert opens["decided"] is True and opens["active"] is False and opens["stopped_at"]
    assert response.json()["clicks"]["active"] is True
    entry = db.run(lambda s: audit.entries(s, action="tracking.email_settings"))[0]
    assert (
        entry.subject == f"email {email_id}"
        and entry.actor.startswith("api_key:")
        and entry.details["track_opens"] is False
    )


def test_turning_tracking_on_after_a_domain_level_off_is_a_conflict(client, api_key, domain, send):
    domain(track_opens=False, track_clicks=True)
    email_id = send()["id"]

    response = client.patch(f"/api/emails/{email_id}/tracking", json={"track_opens": True}, headers=bearer(api_key))

    assert response.status_code == 409 and "domain" in response.json()["detail"]


def test_turning_tracking_back_on_when_the_domain_still_allows_it(client, api_key, domain, send):
    domain(track_opens=True)
    email_id = send()["id"]
    client.patch(f"/api/emails/{email_id}/tracking", json={"track_opens": False}, headers=bearer(api_key))

    response = client.patch(f"/api/emails/{email_id}/tracking", json={"track_opens": True}, headers=bearer(api_key))

    assert response.status_code == 200 and response.json()["opens"]["active"] is True


def test_turning_on_what_the_email_was_sent_without_is_a_conflict(client, api_key, domain, send):
    domain(track_opens=True)
    email_id = send(track_opens=False)["id"]

    response = client.patch(f"/api/emails/{email_id}/tracking", json={"track_opens": True}, headers=bearer(api_key))

    assert response.status_code == 409

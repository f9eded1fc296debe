"""Sending domains: registered by their account, read and changed only by its members."""

from governance.core import audit
from tests.integration.tracking.conftest import DOMAIN, bearer


def test_a_member_registers_a_domain_and_tracking_starts_off(client, login_as):
    csrf = login_as("member", account="acme")

    response = client.post("/api/domains", json={"domain": "News.Acme.Example."}, headers=csrf)

    assert response.status_code == 201
    assert response.json()["domain"] == DOMAIN
    assert response.json()["tracking"] == {
        "track_opens": False,
        "track_clicks": False,
        "track_text_links": False,
        "excluded_link_hosts": [],
    }
    assert [d["domain"] for d in client.get("/api/domains").json()["items"]] == [DOMAIN]


def test_a_domain_taken_by_another_account_is_a_conflict_that_reveals_no_owner(client, db):
    acme, other = db.create_api_key("acme"), db.create_api_key("other")
    assert client.post("/api/domains", json={"domain": DOMAIN}, headers=bearer(acme)).status_code == 201

    theirs = client.post("/api/domains", json={"domain": DOMAIN}, headers=bearer(other))
    ours = client.post("/api/domains", json={"domain": DOMAIN}, headers=bearer(acme))

    assert theirs.status_code == ours.status_code == 409
    assert theirs.json() == ours.json()  # the same answer whoever owns it


def test_a_malformed_domain_name_is_refused_naming_it(client, api_key):
    response = client.post("/api/domains", json={"domain": "not a domain"}, headers=bearer(api_key))

    assert response.status_code == 422 and "not a domain name" in response.json()["detail"]


def test_members_read_and_replace_their_domain_settings_and_it_is_audited(client, db, domain, login_as):
    domain()
    csrf = login_as("member", account="acme")
    settings = {
        "track_opens": True,
        "track_clicks": True,
        "track_text_links": True,
        "excluded_link_hosts": ["Partner.Example"],
    }

    put = client.put(f"/api/domains/{DOMAIN}/tracking", json=settings, headers=csrf)

    assert put.status_code == 200
    assert client.get(f"/api/domains/{DOMAIN}/tracking").json() == {
        **settings,
        "excluded_link_hosts": ["partner.example"],
    }
    entries = db.run(lambda s: audit.entries(s, action="tracking.domain_settings"))
    assert entries[0].subject == DOMAIN and entries[0].details["after"]["track_opens"] is True


def test_other_accounts_get_404_for_a_domain_they_do_not_own(client, db, domain):
    domain()
    intruder = bearer(db.create_api_key("other"))

    assert client.get(f"/api/domains/{DOMAIN}/tracking", headers=intruder).status_code == 404
    assert (
        client.put(
            f"/api/domains/{DOMAIN}/tracking", json={"track_opens": True, "track_clicks": True}, headers=intruder
        ).status_code
        == 404
    )
    assert client.get(f"/api/domains/{DOMAIN}/tracking/report", headers=intruder).status_code == 404
    assert client.get("/api/domains/nowhere.example/tracking", headers=intruder).status_code == 404


def test_staff_without_an_account_role_cannot_touch_domains(client, domain, login_as):
    domain()
    login_as("auditor")

    assert client.get(f"/api/domains/{DOMAIN}/tracking").status_code == 403


def test_a_put_without_the_csrf_header_is_refused(client, domain, login_as):
    domain()
    login_as("member", account="acme")

    response = client.put(f"/api/domains/{DOMAIN}/tracking", json={"track_opens": True, "track_clicks": True})

    assert response.status_code == 403


def test_an_admin_registers_a_domain_for_a_named_account(client, db, login_as):
    account_id = db.create_user("member", account="acme")["account_id"]
    csrf = login_as("admin")

    without = client.post("/api/domains", json={"domain": DOMAIN}, headers=csrf)
    response = client.post(f"/api/domains?account_id={account_id}", json={"domain": DOMAIN}, headers=csrf)

    assert without.status_code == 400
    assert response.status_code == 201 and response.json()["account_id"] == str(account_id)


def test_the_cli_registers_a_domain_with_its_tracking_settings(cli, client, db, api_key):
    added = cli("domains", "add", "--account", "acme", "--track-opens", DOMAIN)
    again = cli("domains", "add", "--account", "other", DOMAIN)

    assert added.exit_code == 0, added.output
    assert again.exit_code == 1 and "already registered" in again.stderr
    assert client.get(f"/api/domains/{DOMAIN}/tracking", headers=bearer(api_key)).json()["track_opens"] is True


def test_the_tracking_routes_are_in_the_openapi_schema(client):
    paths = client.get("/schema/openapi.json").json()["paths"]

    for path in (
        "/api/domains/{domain}/tracking",
        "/api/emails",
        "/api/emails/{email_id}/tracking",
        "/api/emails/{email_id}/events",
        "/t/o/{name}",
        "/t/c/{token}",
    ):
        assert path in paths

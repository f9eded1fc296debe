"""Drift in one place: items from every source, dismissal until seen again, drafts that declare them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governance.core import audit
from governance.core.params import Period
from governance.enforcement import drift, service
from governance.enforcement.schemas import ViolationReport
from tests.conftest import login
from tests.integration.enforcement.audit_runs import a_run, store_run
from tests.integration.enforcement.conftest import recorded
from tests.integration.enforcement.test_endpoints import REPORT, beacon


def items(client, **params) -> dict[str, dict]:
    response = client.get("/api/drift", params=params)
    assert response.status_code == 200, response.text
    return {f"{item['kind']}:{item['name']}": item for item in response.json()["items"]}


def see(db, name: str, *, kind: str = "local_storage", source: str = "browser", at: datetime | None = None) -> None:
    report = ViolationReport(
        source=source, kind=kind, name=name, reason="undeclared", mode="report", page="https://mailssetu.in/p",
        policy_version=1, occurred_at=at or datetime.now(UTC),
    )  # fmt: skip
    db.run(lambda s: service.record(s, [report]))


@pytest.fixture
def staff(guarded, db):
    """A client on the app with test routes, a privacy staff member signed in (returns client, CSRF header)."""
    client = guarded()
    return client, login(client, db.create_user("privacy_staff"))


def test_drift_lists_items_from_every_source(guarded, db):
    client = guarded()
    client.get("/test/undeclared")  # the Set-Cookie guard: `evil`
    client.get("/cookie-policy", headers={"Cookie": "evil=1; tracker=1"})  # request cookies: `evil` again, `tracker`
    beacon(client, {**REPORT, "name": "evil_key"})  # guard.js
    store_run(db.url, a_run())  # an audit: audit_cookie, ms_access without HttpOnly, an IndexedDB database
    recorded(client, db)
    login(client, db.create_user("auditor"))

    found = items(client)

    assert {key: (item["sources"], item["reasons"]) for key, item in found.items()} == {
        "cookie:evil": (["request", "server"], ["undeclared"]),
        "cookie:tracker": (["request"], ["undeclared"]),
        "local_storage:evil_key": (["browser"], ["undeclared"]),
        "cookie:audit_cookie": (["audit"], ["undeclared"]),
        "cookie:ms_access": (["audit"], ["mismatch"]),
        "indexed_db:tracker_db": (["audit"], ["undeclared"]),
    }  # the vendor request the run also found is not an item: it is in the run and its claims
    evil = found["cookie:evil"]
    assert evil["count"] == 2 and evil["pages"] == ["/test/undeclared", "/cookie-policy"] and evil["status"] == "open"
    assert evil["observed"]["http_only"] is False and evil["observed"]["lifetime_s"] == 30 * 24 * 3600
    assert found["cookie:ms_access"]["declared_in_force"] is True  # mis-declared, not undeclared
    assert found["cookie:audit_cookie"]["declared_in_force"] is False
    assert found["cookie:audit_cookie"]["observed"]["host"] == "mailssetu.in"
    assert set(items(client, source="audit")) == {"cookie:audit_cookie", "cookie:ms_access", "indexed_db:tracker_db"}
    assert list(items(client, kind="indexed_db")) == ["indexed_db:tracker_db"]
    assert list(items(client, name="tracker")) == ["cookie:tracker"]


def test_a_dismissed_item_stays_dismissed_until_seen_again(staff, db):
    client, csrf = staff
    see(db, "legacy_key")
    see(db, "still_open")
    item_id = items(client)["local_storage:legacy_key"]["id"]

    response = client.post(f"/api/drift/{item_id}/dismiss", json={"reason": "set by a retired page"}, headers=csrf)

    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert list(items(client)) == ["local_storage:still_open"]  # open drift by default
    dismissed = items(client, status="dismissed")["local_storage:legacy_key"]
    assert (dismissed["dismissal_reason"], dismissed["dismissed_by"].startswith("privacy_staff")) == (
        "set by a retired page", True,
    )  # fmt: skip
    assert set(items(client, status="all")) == {"local_storage:legacy_key", "local_storage:still_open"}
    [entry] = db.run(lambda s: audit.entries(s, action="drift.dismiss"))
    assert entry.subject == "local_storage legacy_key" and entry.details["reason"] == "set by a retired page"
    again = client.post(f"/api/drift/{item_id}/dismiss", json={"reason": "twice"}, headers=csrf)
    assert again.status_code == 409

    see(db, "legacy_key", at=datetime.now(UTC) + timedelta(seconds=1))  # seen after the dismissal: back

    back = items(client)["local_storage:legacy_key"]
    assert back["status"] == "open" and back["count"] == 2 and back["dismissal_reason"] == "set by a retired page"


def test_a_sighting_from_before_the_dismissal_written_late_keeps_it_dismissed(staff, db):
    client, csrf = staff
    see(db, "late_key")
    item_id = items(client)["local_storage:late_key"]["id"]
    client.post(f"/api/drift/{item_id}/dismiss", json={"reason": "known"}, headers=csrf)

    see(db, "late_key", at=datetime.now(UTC) - timedelta(minutes=5))  # queued before, recorded after

    assert (
        "local_storage:late_key" not in items(client)
        and items(client, status="dismissed")["local_storage:late_key"]["count"] == 2
    )


def test_a_draft_declares_an_undeclared_item_as_it_was_observed(staff, db):
    client, csrf = staff
    store_run(db.url, a_run())
    item = items(client)["cookie:audit_cookie"]

    response = client.post(f"/api/drift/{item['id']}/draft", headers=csrf)

    assert response.status_code == 201, response.text
    draft = response.json()
    [declared] = [d for d in draft["content"]["declarations"] if d["name"] == "audit_cookie"]
    assert (declared["kind"], declared["http_only"], declared["secure"], declared["same_site"], declared["path"]) == (
        "cookie", False, True, "lax", "/",
    )  # fmt: skip
    assert declared["duration"] == {"kind": "seconds", "seconds": 30 * 24 * 3600, "text": "30 days"}
    assert declared["category"] == "strictly necessary" and declared["purpose"] == ""
    assert {
        "field": f"declarations[{draft['content']['declarations'].index(declared)}].purpose",
        "detail": "audit_cookie: no purpose",
    } in draft["problems"]  # staff write the purpose
    assert "audit_cookie" in draft["change_summary"] and draft["material"] is True
    assert items(client)["cookie:audit_cookie"]["declared_by_drafts"] == [draft["id"]]
    assert items(client)["cookie:ms_access"]["declared_by_drafts"] == [draft["id"]]  # the draft still declares it
    [entry] = db.run(lambda s: audit.entries(s, action="drift.draft"))
    assert entry.details == {"item": item["id"], "draft": draft["id"]}


def test_a_draft_for_a_mis_declared_cookie_changes_its_declaration_to_what_was_seen(staff, db):
    client, csrf = staff
    store_run(db.url, a_run())
    item = items(client)["cookie:ms_access"]

    draft = client.post(f"/api/drift/{item['id']}/draft", headers=csrf).json()

    [access] = [d for d in draft["content"]["declarations"] if d["name"] == "ms_access"]
    assert access["http_only"] is False and access["purpose"].startswith("Session JWT")  # kept from the policy
    assert len([d for d in draft["content"]["declarations"] if d["name"] == "ms_access"]) == 1


def test_a_storage_item_draft_and_items_that_cannot_be_declared(staff, db):
    client, csrf = staff
    see(db, "session_thing", kind="session_storage")
    store_run(db.url, a_run())
    found = items(client)

    draft = client.post(f"/api/drift/{found['session_storage:session_thing']['id']}/draft", headers=csrf).json()
    refused = client.post(f"/api/drift/{found['indexed_db:tracker_db']['id']}/draft", headers=csrf)

    [declared] = [d for d in draft["content"]["declarations"] if d["name"] == "session_thing"]
    assert declared["duration"]["kind"] == "session" and declared["http_only"] is None
    assert declared["category"] == "first-party storage"  # where the policy lists the other storage keys
    assert refused.status_code == 422 and "indexed_db" in refused.json()["detail"]


def test_only_privacy_staff_act_on_drift_and_auditors_read_it(client, db, login_as):
    see(db, "k")
    assert client.get("/api/drift").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/drift").status_code == 403
    csrf = login_as("auditor")
    item_id = items(client)["local_storage:k"]["id"]
    assert client.get(f"/api/drift/{item_id}").json()["name"] == "k"
    assert client.post(f"/api/drift/{item_id}/dismiss", json={"reason": "x"}, headers=csrf).status_code == 403
    assert client.post(f"/api/drift/{item_id}/draft", headers=csrf).status_code == 403


def test_bad_requests_name_their_problem(staff, db):
    client, csrf = staff
    see(db, "k")
    item_id = items(client)["local_storage:k"]["id"]

    assert client.post(f"/api/drift/{item_id + 1000}/dismiss", json={"reason": "x"}, headers=csrf).status_code == 404
    assert client.get(f"/api/drift/{2**63}").status_code == 400
    typo = client.post(f"/api/drift/{item_id}/dismiss", json={"reason": "x", "reasn": "y"}, headers=csrf)
    assert typo.status_code == 400 and "reasn" in typo.text
    assert client.post(f"/api/drift/{item_id}/dismiss", json={"reason": ""}, headers=csrf).status_code == 400
    blank = client.post(f"/api/drift/{item_id}/dismiss", json={"reason": "   "}, headers=csrf)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    assert client.get("/api/drift", params={"status": "gone"}).status_code == 400
    assert client.get("/api/drift", params={"source": "proxy"}).status_code == 400
    assert items(client)["local_storage:k"]["status"] == "open"  # nothing above changed it


def test_drift_of_a_period_keeps_the_items_seen_during_it(db):
    day = datetime(2026, 6, 15, tzinfo=UTC)
    see(db, "before", at=day - timedelta(days=3))
    see(db, "during", at=day + timedelta(hours=2))
    see(db, "spanning", at=day - timedelta(days=1))
    see(db, "spanning", at=day + timedelta(days=2))

    found = db.run(lambda s: drift.drift_of_period(s, Period(day, day + timedelta(days=1))))

    assert [item.name for item in found] == ["spanning", "during"]  # most recently seen first

"""A scheduled version can be withdrawn until its instant; then no one is ever shown it."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from litestar.testing import TestClient

from governance.app import create_app
from governance.core import audit
from policy_docs import cache as policy_cache
from tests.integration.policy_docs.helpers import THEME_COOKIE, draft_with_theme_cookie, publish, start_draft

# Real-time-relative instants, for the same reason as in test_scheduled_version.py (session JWTs).
PUBLISHED_AT = datetime.now(UTC).replace(microsecond=0)
SWITCH = PUBLISHED_AT + timedelta(hours=3)
REAL_TIME_FOR = ["litestar.security.jwt.token", "jwt"]


def frozen_at(moment: datetime):
    return freeze_time(moment, real_asyncio=True, ignore=REAL_TIME_FOR)


def schedule_v2(client, headers) -> dict:
    draft = draft_with_theme_cookie(client, headers)
    response = publish(client, headers, draft["id"], effective_from=SWITCH.isoformat())
    assert response.status_code == 201, response.text
    return response.json()


def withdraw(client, headers, number: int, reason: str = "Legal asked for another review."):
    return client.post(f"/api/policy/versions/{number}/withdraw", json={"reason": reason}, headers=headers)


def everything_public(client) -> dict:
    """What each public view says, at the current (frozen) instant."""
    inventory = client.get("/api/inventory", params={"format": "json"})
    return {
        "versions": [v["number"] for v in client.get("/api/policy/versions").json()],
        "current": client.get("/api/policy/current").json()["number"],
        "page_has_theme": "ms_theme" in client.get("/cookie-policy").text,
        "history_has_v2": "Version 2" in client.get("/cookie-policy/versions").text,
        "v2_api": client.get("/api/policy/versions/2").status_code,
        "v2_page": client.get("/cookie-policy/versions/2").status_code,
        "allowlist": client.get("/governance/allowlist.json").text.count("ms_theme"),
        "inventory_has_theme": "ms_theme" in {row["name"] for row in inventory.json()},
    }


def test_a_withdrawn_version_is_never_shown_not_even_at_its_instant(client, db, login_as):
    with frozen_at(PUBLISHED_AT) as clock:
        headers = login_as("privacy_staff", "auditor")
        v2 = schedule_v2(client, headers)
        assert everything_public(client)["versions"] == [2, 1]  # control: scheduled, so listed

        response = withdraw(client, headers, 2)

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["number"], body["status"], body["reason"]) == (2, "withdrawn", "Legal asked for another review.")
        assert body["content_hash"] == v2["content_hash"] and body["withdrawn_by"].startswith("privacy_staff")
        clock.move_to(SWITCH + timedelta(minutes=1))
        assert everything_public(client) == {
            "versions": [1],
            "current": 1,
            "page_has_theme": False,
            "history_has_v2": False,
            "v2_api": 404,
            "v2_page": 404,
            "allowlist": 0,
            "inventory_has_theme": False,
        }
        assert (
            client.get("/api/policy/current", params={"at": (SWITCH + timedelta(days=9)).isoformat()}).json()["number"]
            == 1
        )

    [entry] = db.run(lambda s: audit.entries(s, action="policy.withdraw"))
    assert entry.subject == "cookie-policy v2" and entry.details["reason"] == "Legal asked for another review."
    assert entry.details["effective_from"] == SWITCH.isoformat() and entry.details["content_hash"] == v2["content_hash"]


def test_a_version_in_force_or_already_withdrawn_is_a_409(client, login_as):
    with frozen_at(PUBLISHED_AT):
        headers = login_as("privacy_staff")
        schedule_v2(client, headers)

        in_force = withdraw(client, headers, 1)
        first = withdraw(client, headers, 2)
        again = withdraw(client, headers, 2)

    assert in_force.status_code == 409 and "took effect" in in_force.json()["detail"]
    assert first.status_code == 200
    assert again.status_code == 409 and "withdrawn already" in again.json()["detail"]


def test_a_scheduled_version_whose_instant_has_come_can_no_longer_be_withdrawn(client, login_as):
    with frozen_at(PUBLISHED_AT) as clock:
        headers = login_as("privacy_staff")
        schedule_v2(client, headers)
        clock.move_to(SWITCH)

        response = withdraw(client, headers, 2)

        assert response.status_code == 409
        assert client.get("/api/policy/current").json()["number"] == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"reason": "   "}, 422, "reason"),
        ({}, 400, "reason"),
        ({"reason": "x" * 2001}, 400, "reason"),
        ({"reason": "ok", "because": "typo"}, 400, "because"),
    ],
)
def test_a_withdrawal_needs_a_reason(client, login_as, body, status, field):
    with frozen_at(PUBLISHED_AT):
        headers = login_as("privacy_staff")
        schedule_v2(client, headers)

        response = client.post("/api/policy/versions/2/withdraw", json=body, headers=headers)

        assert response.status_code == status
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert withdraw(client, headers, 2).status_code == 200  # control: with a reason it works


def test_unknown_versions_and_other_roles(client, login_as):
    headers = login_as("privacy_staff")
    assert withdraw(client, headers, 7).status_code == 404
    assert (
        client.post("/api/policy/versions/99999999999/withdraw", json={"reason": "x"}, headers=headers).status_code
        == 400
    )
    auditor = login_as("auditor")
    assert withdraw(client, auditor, 1).status_code == 403


def test_numbers_are_never_reused_and_the_next_version_diffs_against_the_last_published(client, login_as):
    with frozen_at(PUBLISHED_AT):
        headers = login_as("privacy_staff")
        schedule_v2(client, headers)
        assert withdraw(client, headers, 2).status_code == 200
        draft = start_draft(client, headers, change_summary="Adds the theme cookie, reviewed.")
        assert draft["based_on"] == 1  # the latest published version, not the withdrawn one
        patched = client.patch(
            f"/api/policy/drafts/{draft['id']}", json={"upsert_declarations": [THEME_COOKIE]}, headers=headers
        )
        assert patched.status_code == 200

        response = publish(client, headers, draft["id"], effective_from=(SWITCH - timedelta(hours=1)).isoformat())

        assert response.status_code == 201, response.text
        assert response.json()["number"] == 3
        assert [v["number"] for v in client.get("/api/policy/versions").json()] == [3, 1]
        assert "What changed since version 1" in client.get("/cookie-policy/versions/3").text


def test_the_withdrawal_reaches_another_instance_through_its_cache(client, settings, login_as):
    other = create_app(settings)  # a second instance on the same database
    with frozen_at(PUBLISHED_AT), TestClient(other, base_url="http://testserver.local") as elsewhere:
        headers = login_as("privacy_staff")
        schedule_v2(client, headers)
        assert [v["number"] for v in elsewhere.get("/api/policy/versions").json()] == [2, 1]

        assert withdraw(client, headers, 2).status_code == 200
        policy_cache.of(other.state).invalidate()  # what a publish notification (or the 5 s poll) does

        assert [v["number"] for v in elsewhere.get("/api/policy/versions").json()] == [1]
        assert elsewhere.get("/api/policy/versions/2").status_code == 404

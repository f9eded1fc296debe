"""Privacy staff draft, validate, preview and publish; everyone else is turned away."""

import asyncio

import pytest

from governance.core.db import standalone_session
from policy_docs import service
from policy_docs.schemas import DraftCreate, PublishRequest
from tests.integration.policy_docs.helpers import THEME_COOKIE, draft_with_theme_cookie, publish, start_draft


@pytest.mark.parametrize("role", ["auditor", "member"])
def test_only_privacy_staff_may_draft(client, login_as, role):
    headers = login_as(role, account="acme") if role == "member" else login_as(role)

    assert client.post("/api/policy/drafts", json={}, headers=headers).status_code == 403
    assert client.get("/api/policy/drafts").status_code == 403


def test_drafting_needs_a_sign_in(client):
    assert client.post("/api/policy/drafts", json={}).status_code == 401


def test_a_draft_starts_as_a_copy_of_the_latest_version(client, login_as):
    headers = login_as("privacy_staff")

    draft = start_draft(client, headers)

    current = client.get("/api/policy/current").json()
    assert draft["based_on"] == 1 and draft["revision"] == 1 and draft["problems"] == []
    assert draft["content"]["declarations"] == current["declarations"]
    assert draft["content"]["sections"] == current["sections"]


def test_staff_add_change_and_remove_declarations_and_edit_prose(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)
    changed = {**THEME_COOKIE, "duration": {"kind": "seconds", "seconds": 15552000, "text": "180 days"}}
    sections = draft["content"]["sections"]
    sections[-2]["body"] = "We will tell you about every material change by email."

    response = client.patch(
        f"/api/policy/drafts/{draft['id']}",
        json={
            "upsert_declarations": [changed],
            "remove_declarations": [{"kind": "cookie", "name": "__next_locale"}],
            "sections": sections,
            "expected_revision": 2,
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    names = [d["name"] for d in body["content"]["declarations"]]
    assert "__next_locale" not in names and names.count("ms_theme") == 1
    assert next(d for d in body["content"]["declarations"] if d["name"] == "ms_theme")["duration"]["text"] == "180 days"
    assert body["content"]["sections"][-2]["body"].startswith("We will tell you")
    assert body["revision"] == 3


def test_a_stale_revision_is_a_409(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)

    response = client.patch(
        f"/api/policy/drafts/{draft['id']}", json={"title": "x", "expected_revision": 1}, headers=headers
    )

    assert response.status_code == 409
    assert "revision" in response.json()["detail"]


def test_invalid_declarations_are_a_422_listing_every_problem(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)
    bad = [
        {**THEME_COOKIE, "name": "ms_", "match": "prefix"},  # swallows ms_access, ms_csrf
        {**THEME_COOKIE, "name": "ms_access", "http_only": True, "purpose": "A token readable by JavaScript."},
        {**THEME_COOKIE, "name": "ms_bad_duration", "duration": {"kind": "seconds", "text": "a while"}},
        {**THEME_COOKIE, "name": "ms_cross", "same_site": "none"},
    ]
    assert (
        client.patch(
            f"/api/policy/drafts/{draft['id']}", json={"upsert_declarations": bad}, headers=headers
        ).status_code
        == 200
    )

    validated = client.post(f"/api/policy/drafts/{draft['id']}/validate", headers=headers).json()["problems"]
    response = publish(client, headers, draft["id"])

    assert response.status_code == 422
    problems = [error["detail"] for error in response.json()["errors"]]
    assert problems == validated
    expected = [
        "the prefix 'ms_' (cookie) swallows the declaration 'ms_access'",
        "the prefix 'ms_' (cookie) swallows the declaration 'ms_csrf'",
        "ms_access: an HttpOnly cookie cannot be described as readable by JavaScript",
        "ms_bad_duration: a duration in seconds needs a positive number of seconds",
        "ms_cross: SameSite=None requires Secure",
    ]
    for sentence in expected:
        assert sentence in problems
    assert client.get("/api/policy/current").json()["number"] == 1


def test_a_published_version_cannot_be_edited_or_deleted(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)
    assert publish(client, headers, draft["id"]).status_code == 201

    edit = client.patch(f"/api/policy/drafts/{draft['id']}", json={"title": "Changed"}, headers=headers)
    again = publish(client, headers, draft["id"])
    removal = client.delete(f"/api/policy/drafts/{draft['id']}", headers=headers)

    assert edit.status_code == again.status_code == removal.status_code == 409
    assert "published" in edit.json()["detail"]


def test_publishing_now_makes_the_new_version_current_and_is_audited(client, db, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)

    response = publish(client, headers, draft["id"], material=False, change_summary="Adds ms_theme.")

    assert response.status_code == 201, response.text
    v2 = response.json()
    assert (v2["number"], v2["material"], v2["change_summary"]) == (2, False, "Adds ms_theme.")
    assert client.get("/api/policy/current").json()["content_hash"] == v2["content_hash"]
    actor, subject, details = db.run(_last_publish)
    assert actor.startswith("privacy_staff-") and subject == "cookie-policy v2"
    assert details["content_hash"] == v2["content_hash"] and details["number"] == 2


async def _last_publish(session):
    from governance.core import audit

    entry = (await audit.entries(session, action="policy.publish", limit=1))[0]
    return entry.actor, entry.subject, entry.details


def test_preview_renders_the_draft_without_publishing_it(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)

    preview = client.get(f"/api/policy/drafts/{draft['id']}/preview")

    assert preview.status_code == 200 and "ms_theme" in preview.text and "Not published" in preview.text
    assert "ms_theme" not in client.get("/cookie-policy").text


def test_a_draft_can_be_discarded(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)

    assert client.delete(f"/api/policy/drafts/{draft['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/policy/drafts/{draft['id']}").status_code == 404


def test_a_date_in_the_past_cannot_be_published(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)

    response = publish(client, headers, draft["id"], effective_from="2026-05-01T00:00:00Z")

    assert response.status_code == 422
    assert any("in the past" in error["detail"] for error in response.json()["errors"])


def test_concurrent_publishes_get_distinct_numbers_or_a_conflict(client, db):
    client.get("/cookie-policy")  # the app has seeded version 1
    drafts = [db.run(_new_draft) for _ in range(3)]

    outcomes = asyncio.run(_publish_all(db.url, [*drafts, drafts[0]]))  # the first draft twice

    numbers = [o.number for o in outcomes if not isinstance(o, Exception)]
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(f, service.Conflict) for f in failures), failures
    assert len(numbers) == len(set(numbers)) and len(numbers) >= 1
    assert len(numbers) <= 3  # the same draft never becomes two versions
    published = db.scalar("SELECT count(*) FROM policy_versions WHERE status = 'published'")
    assert published == 1 + len(numbers)
    assert db.scalar("SELECT count(DISTINCT number) FROM policy_versions WHERE number IS NOT NULL") == published


async def _new_draft(session):
    draft = await service.create_draft(session, DraftCreate(change_summary="concurrent"), "staff@example.test")
    return draft.id


async def _publish_all(url, draft_ids):
    async def one(draft_id):
        async with standalone_session(url) as session:
            return await service.publish(session, draft_id, PublishRequest(), "staff@example.test")

    return await asyncio.gather(*(one(d) for d in draft_ids), return_exceptions=True)

"""Privacy staff draft, validate, preview and publish; everyone else is turned away."""

import asyncio

import pytest

from governance.core import audit
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
    changes_section = {**section_of(draft, "changes"), "body": "We will tell you about every material change by email."}

    response = client.patch(
        f"/api/policy/drafts/{draft['id']}",
        json={
            "upsert_declarations": [changed],
            "remove_declarations": [{"kind": "cookie", "name": "__next_locale"}],
            "upsert_sections": [changes_section],
            "expected_revision": 2,
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    names = [d["name"] for d in body["content"]["declarations"]]
    assert "__next_locale" not in names and names.count("ms_theme") == 1
    assert next(d for d in body["content"]["declarations"] if d["name"] == "ms_theme")["duration"]["text"] == "180 days"
    assert section_of(body, "changes")["body"].startswith("We will tell you")
    assert body["revision"] == 3


def section_of(draft: dict, section_id: str) -> dict:
    return next(s for s in draft["content"]["sections"] if s["id"] == section_id)


def test_one_edited_section_leaves_the_other_nine_as_they_were(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)
    before = draft["content"]["sections"]
    edited = {**section_of(draft, "contact"), "body": "Write to privacy@mailssetu.in."}

    response = client.patch(f"/api/policy/drafts/{draft['id']}", json={"upsert_sections": [edited]}, headers=headers)

    assert response.status_code == 200, response.text
    after = response.json()["content"]["sections"]
    assert [s["id"] for s in after] == [s["id"] for s in before] and len(after) == 10
    assert [s for s in after if s["id"] != "contact"] == [s for s in before if s["id"] != "contact"]
    assert section_of(response.json(), "contact")["body"] == "Write to privacy@mailssetu.in."


def test_sections_are_added_moved_and_removed_by_id(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)
    ids = [s["id"] for s in draft["content"]["sections"]]
    order = ["children", *ids[:-1]]

    response = client.patch(
        f"/api/policy/drafts/{draft['id']}",
        json={
            "upsert_sections": [{"id": "children", "heading": "Children", "body": "Not for children."}],
            "remove_sections": ["contact"],
            "section_order": order,
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()["content"]["sections"]] == order


def test_replacing_a_whole_list_must_be_asked_for_by_name(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)
    one = [section_of(draft, "contact")]

    old_style = client.patch(f"/api/policy/drafts/{draft['id']}", json={"sections": one}, headers=headers)
    replaced = client.patch(f"/api/policy/drafts/{draft['id']}", json={"replace_sections": one}, headers=headers)

    assert old_style.status_code == 400
    assert old_style.json()["errors"][0]["field"] == "sections"
    assert client.get(f"/api/policy/drafts/{draft['id']}").json()["revision"] == 2  # the 400 changed nothing
    assert replaced.status_code == 200 and [s["id"] for s in replaced.json()["content"]["sections"]] == ["contact"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"titel": "Cookies"}, "titel"),
        ({"upsert_sections": [{"id": "x", "heading": "X", "bdy": "typo"}]}, "upsert_sections[0].bdy"),
        ({"upsert_declarations": [{**THEME_COOKIE, "http_onyl": True}]}, "upsert_declarations[0].http_onyl"),
        (
            {"upsert_declarations": [{**THEME_COOKIE, "duration": {"kind": "session", "text": "s", "secs": 1}}]},
            "upsert_declarations[0].duration.secs",
        ),
        ({"remove_declarations": [{"kind": "cookie", "name": "x", "nmae": "y"}]}, "remove_declarations[0].nmae"),
        ({"contact": [{"label": "a", "value": "b", "kidn": "email"}]}, "contact[0].kidn"),
    ],
)
def test_a_typo_anywhere_in_an_edit_is_a_400_naming_the_field(client, login_as, body, field):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)

    response = client.patch(f"/api/policy/drafts/{draft['id']}", json=body, headers=headers)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert client.patch(f"/api/policy/drafts/{draft['id']}", json={"title": "ok"}, headers=headers).status_code == 200


def test_an_edit_that_cannot_apply_is_a_422_naming_the_patch_field_and_changes_nothing(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)

    response = client.patch(
        f"/api/policy/drafts/{draft['id']}",
        json={"remove_sections": ["contact", "no-such-section"], "title": "Changed"},
        headers=headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "remove_sections[1]", "detail": "the draft has no section 'no-such-section'"}
    ]
    unchanged = client.get(f"/api/policy/drafts/{draft['id']}").json()
    assert unchanged["content"]["title"] == "Cookie Policy" and unchanged["revision"] == 1


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
    problems = response.json()["errors"]
    assert problems == validated
    names = [d["name"] for d in client.get(f"/api/policy/drafts/{draft['id']}").json()["content"]["declarations"]]
    at = {name: f"declarations[{i}]" for i, name in enumerate(names)}
    expected = [
        (f"{at['ms_']}.name", f"the prefix 'ms_' (cookie) swallows the declaration 'ms_access' ({at['ms_access']})"),
        (f"{at['ms_']}.name", f"the prefix 'ms_' (cookie) swallows the declaration 'ms_csrf' ({at['ms_csrf']})"),
        (f"{at['ms_access']}.purpose", "ms_access: an HttpOnly cookie cannot be described as readable by JavaScript"),
        (
            f"{at['ms_bad_duration']}.duration.seconds",
            "ms_bad_duration: a duration in seconds needs a positive number of seconds",
        ),
        (f"{at['ms_cross']}.secure", "ms_cross: SameSite=None requires Secure"),
    ]
    for field, detail in expected:
        assert {"field": field, "detail": detail} in problems
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
    assert [e["field"] for e in response.json()["errors"]] == ["effective_from"]
    assert "in the past" in response.json()["errors"][0]["detail"]


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


HOSTILE = [
    ("post", "", {"based_on": 2**63}),
    ("post", "", {"based_on": 2**31}),
    ("post", "", {"based_on": -1}),
    ("post", "", {"change_summary": "nul \x00 inside"}),
    ("patch", "/{id}", {"expected_revision": 2**63}),
    ("patch", "/{id}", {"title": "\x00"}),
    ("patch", "/{id}", {"intro": "x" * 100_001}),
    (
        "patch",
        "/{id}",
        {"upsert_declarations": [{**THEME_COOKIE, "duration": {"kind": "seconds", "text": "t", "seconds": 2**64}}]},
    ),
    ("patch", "/{id}", {"upsert_declarations": [{**THEME_COOKIE, "name": "a\x00b"}]}),
    ("patch", "/{id}", {"upsert_sections": [{"id": "s", "heading": "h", "level": 4}]}),
    ("patch", "/{id}", {"remove_sections": ["x" * 65]}),
    ("patch", "/{id}", {"not_used": ["ok"] * 201}),
    ("post", "/{id}/publish", {"effective_from": "9999-12-31T23:59:59-14:00"}),
    ("post", "/{id}/publish", {"last_updated": "0000-01-01"}),
    ("post", "/{id}/publish", {"change_summary": "\x00"}),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE)
def test_hostile_input_is_a_4xx_naming_the_field_never_a_500(client, login_as, method, path, body):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)

    response = getattr(client, method)(f"/api/policy/drafts{path.format(id=draft['id'])}", json=body, headers=headers)

    assert response.status_code in (400, 422), response.text
    assert response.json()["errors"][0]["field"]
    assert client.get(f"/api/policy/drafts/{draft['id']}").json()["revision"] == 1  # nothing was written


def test_creating_editing_and_discarding_a_draft_is_audited_with_what_changed_not_the_content(client, db, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers, change_summary="First try.")
    contact = {**section_of(draft, "contact"), "body": "A confidential new wording."}
    edit = {
        "upsert_declarations": [THEME_COOKIE],
        "remove_declarations": [{"kind": "cookie", "name": "__next_locale"}],
        "upsert_sections": [contact],
        "change_summary": "Adds the theme cookie.",
    }
    assert client.patch(f"/api/policy/drafts/{draft['id']}", json=edit, headers=headers).status_code == 200
    assert client.delete(f"/api/policy/drafts/{draft['id']}", headers=headers).status_code == 204

    entries = {e.action: e for e in db.run(audit.entries)}

    subject = f"cookie-policy draft {draft['id']}"
    created, edited, deleted = (entries[f"policy.draft_{a}"] for a in ("create", "edit", "delete"))
    assert {created.subject, edited.subject, deleted.subject} == {subject}
    assert created.details == {"based_on": 1, "change_summary": "First try.", "material": True}
    assert edited.details == {
        "revision": 2,
        "changes": {
            "declarations_added": ["cookie:ms_theme"],
            "declarations_removed": ["cookie:__next_locale"],
            "sections_changed": {"contact": ["body"]},
        },
        "change_summary": {"old": "First try.", "new": "Adds the theme cookie."},
    }
    assert "confidential" not in str(edited.details)  # what changed, not the content
    assert deleted.details == {"based_on": 1, "revision": 2, "change_summary": "Adds the theme cookie."}
    assert all(e.actor == created.actor for e in (edited, deleted)) and created.actor.startswith("privacy_staff")


def test_a_refused_edit_writes_no_audit_entry(client, db, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)

    assert (
        client.patch(
            f"/api/policy/drafts/{draft['id']}", json={"remove_sections": ["nope"]}, headers=headers
        ).status_code
        == 422
    )
    assert (
        client.patch(f"/api/policy/drafts/{draft['id']}", json={"title": "Cookies"}, headers=headers).status_code == 200
    )

    assert [e.details["revision"] for e in db.run(lambda s: audit.entries(s, action="policy.draft_edit"))] == [2]

"""The published policy as JSON: current, versions, diff; all in the OpenAPI schema."""

from tests.integration.policy_docs.helpers import THEME_COOKIE, draft_with_theme_cookie, publish


def test_current_carries_declarations_and_hash_without_signing_in(client):
    current = client.get("/api/policy/current")

    assert current.status_code == 200 and "set-cookie" not in current.headers
    body = current.json()
    access = next(d for d in body["declarations"] if d["name"] == "ms_access")
    assert access["http_only"] is True and access["same_site"] == "lax" and access["path"] == "/"
    assert access["duration"] == {"kind": "seconds", "text": "30 days / until sign-out", "seconds": 2592000}
    assert access["secure"] is None  # the deployment's MS_COOKIE_SECURE decides
    assert len(body["content_hash"]) == 64


def test_diff_lists_declarations_field_by_field_and_sections(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)
    csrf = next(d for d in draft["content"]["declarations"] if d["name"] == "ms_csrf")
    first = draft["content"]["sections"][0]
    patch = {
        "upsert_declarations": [{**csrf, "duration": {**csrf["duration"], "seconds": 86400, "text": "1 day"}}],
        "remove_declarations": [{"kind": "local_storage", "name": "ms_journey_first_touch"}],
        "upsert_sections": [{**first, "body": first["body"] + "\n\nOne more sentence."}],
    }
    assert client.patch(f"/api/policy/drafts/{draft['id']}", json=patch, headers=headers).status_code == 200
    assert publish(client, headers, draft["id"]).status_code == 201

    diff = client.get("/api/policy/diff", params={"from": 1, "to": 2}).json()

    assert [d["name"] for d in diff["declarations_added"]] == [THEME_COOKIE["name"]]
    assert [d["name"] for d in diff["declarations_removed"]] == ["ms_journey_first_touch"]
    assert diff["declarations_changed"] == [
        {
            "kind": "cookie",
            "name": "ms_csrf",
            "changes": [
                {"field": "duration.text", "old": "30 days / until sign-out", "new": "1 day"},
                {"field": "duration.seconds", "old": 2592000, "new": 86400},
            ],
        }
    ]
    assert diff["sections"] == [
        {
            "id": "what-are-cookies",
            "heading": "1. What Are Cookies?",
            "change": "changed",
            "fields": ["body"],
            "redlines": [
                {
                    "field": "body",
                    "segments": [
                        {"op": "equal", "text": first["body"]},
                        {"op": "insert", "text": "\n\nOne more sentence."},
                    ],
                }
            ],
            "changes": [],
        }
    ]


def test_a_draft_diff_shows_what_it_changes_in_its_base_with_a_redline(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)
    section = next(s for s in draft["content"]["sections"] if s["id"] == "changes")
    edited = {**section, "heading": section["heading"] + " to This Policy", "body": "We email you first."}
    assert (
        client.patch(
            f"/api/policy/drafts/{draft['id']}", json={"upsert_sections": [edited]}, headers=headers
        ).status_code
        == 200
    )

    diff = client.get(f"/api/policy/drafts/{draft['id']}/diff", headers=headers)

    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert (body["draft_id"], body["based_on"], body["revision"]) == (draft["id"], 1, 3)
    assert [d["name"] for d in body["declarations_added"]] == ["ms_theme"]
    assert body["declarations_removed"] == [] and body["declarations_changed"] == []
    [change] = body["sections"]
    heading, text = change["redlines"]
    assert heading["field"] == "heading" and {"op": "insert", "text": " to This Policy"} in heading["segments"]
    assert "".join(s["text"] for s in text["segments"] if s["op"] != "delete") == "We email you first."
    assert "".join(s["text"] for s in text["segments"] if s["op"] != "insert") == section["body"]
    assert client.get(f"/api/policy/drafts/{draft['id']}/diff").status_code == 200  # cookie session, a GET
    login_as("auditor")
    assert client.get(f"/api/policy/drafts/{draft['id']}/diff").status_code == 403


def test_diff_of_an_unknown_version_is_a_404(client):
    assert client.get("/api/policy/diff", params={"from": 1, "to": 7}).status_code == 404
    assert client.get("/api/policy/diff", params={"from": "one", "to": 2}).status_code == 400


def test_versions_list_and_one_version(client):
    versions = client.get("/api/policy/versions").json()
    one = client.get("/api/policy/versions/1").json()

    assert [(v["number"], v["status"]) for v in versions] == [(1, "in_force")]
    assert one["number"] == 1 and one["title"] == "Cookie Policy"


def test_the_policy_routes_are_in_the_openapi_schema(client):
    paths = client.get("/schema/openapi.json").json()["paths"]

    for path in (
        "/api/policy/current",
        "/api/policy/versions",
        "/api/policy/versions/{number}",
        "/api/policy/diff",
        "/api/policy/drafts",
        "/api/policy/drafts/{draft_id}",
        "/api/policy/drafts/{draft_id}/publish",
        "/api/policy/drafts/{draft_id}/diff",
        "/api/policy/versions/{number}/withdraw",
        "/api/inventory",
    ):
        assert path in paths, path

"""The policy pages: history, the draft editor and its checks, preview, changes, publish, withdraw."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from governance.core.clock import utcnow
from tests.conftest import Database

Login = Callable[..., dict[str, str]]


def start_draft(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/console/policy/drafts", data={"based_on": "1"}, headers=headers)
    assert response.status_code == 200, response.text
    location = response.headers["hx-redirect"]
    assert re.fullmatch(r"/console/policy/drafts/[0-9a-f-]{36}", location)
    return location


def editor_form(client: TestClient, draft: str) -> dict[str, Any]:
    """The declarations form as the editor renders it: every input's name and value."""
    tree = HTMLParser(client.get(draft).text)
    form = tree.css_first("form[hx-post$='/declarations']")
    data: dict[str, Any] = {}
    for node in form.css("input, select"):
        name = node.attributes.get("name")
        if not name:
            continue
        if node.tag == "select":
            chosen = node.css_first("option[selected]") or node.css_first("option")
            data[name] = chosen.attributes.get("value", "")
        elif node.attributes.get("type") == "checkbox":
            if "checked" in node.attributes:
                data[name] = node.attributes.get("value")
        else:
            data[name] = node.attributes.get("value") or ""
    return data


def test_history_lists_versions_with_who_published(client: TestClient, console_as: Login) -> None:
    console_as("auditor")
    tree = HTMLParser(client.get("/console/policy").text)
    rows = tree.css("table tbody tr")
    assert len(rows) == 1
    cells = [td.text(strip=True) for td in rows[0].css("td")]
    assert cells[0] == "1" and cells[1] == "in force" and cells[3] in {"material", "editorial"}
    assert tree.css_first("form[hx-post]") is None  # auditors: no control they cannot use


def test_draft_lifecycle_through_the_editor(client: TestClient, console_as: Login, db: Database) -> None:
    headers = console_as("privacy_staff")
    draft = start_draft(client, headers)
    page = client.get(draft)
    assert page.status_code == 200
    assert "change summary is empty" in page.text  # the service's problems, shown next to the field
    tree = HTMLParser(page.text)
    assert tree.css_first("#f-change-summary").attributes.get("aria-invalid") == "true"

    # add a declaration with a seconds value that is not a number: not saved, named next to the field
    data = editor_form(client, draft)
    new = int(data["rows"]) - 1
    data.update(
        {
            f"d-{new}-name": "ms_theme",
            f"d-{new}-category": data["d-0-category"],
            f"d-{new}-duration.text": "1 year",
            f"d-{new}-duration.seconds": "a year",
            f"d-{new}-http_only": "no",
            f"d-{new}-purpose": "",
        }
    )
    refused = client.post(f"{draft}/declarations", data=data, headers=headers)
    assert refused.status_code == 422
    tree = HTMLParser(refused.text)
    field = tree.css_first(f"#f-declarations-{new}-duration-seconds")
    assert field.attributes.get("aria-invalid") == "true"
    assert field.attributes.get("value") == "a year"  # what was typed is shown again
    # fixed: saved; the empty purpose is a problem of the draft, shown next to that field
    data[f"d-{new}-duration.seconds"] = "31536000"
    saved = client.post(f"{draft}/declarations", data=data, headers=headers)
    assert saved.status_code == 200, saved.text
    tree = HTMLParser(client.get(saved.headers["hx-redirect"].split("#")[0]).text)
    purpose = tree.css_first(f"#f-declarations-{new}-purpose")
    assert purpose.attributes.get("aria-invalid") == "true"
    data = editor_form(client, draft)
    data[f"d-{new}-purpose"] = "Remembers the console theme."
    assert client.post(f"{draft}/declarations", data=data, headers=headers).status_code == 200

    # one section edited; the others stay
    sections_before = re.findall(r'id="section-([a-z0-9-]+)"', client.get(draft).text)
    target = sections_before[0]
    tree = HTMLParser(client.get(draft).text)
    form = tree.css_first(f"form[hx-post$='/sections/{target}']")
    body = form.css_first("textarea").text() + "\n\nWe also remember your console theme."
    revision = form.css_first("input[name=revision]").attributes["value"]
    response = client.post(
        f"{draft}/sections/{target}",
        data={
            "heading": form.css_first("input[name=heading]").attributes["value"],
            "level": "2",
            "body": body,
            "revision": revision,
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert re.findall(r'id="section-([a-z0-9-]+)"', client.get(draft).text) == sections_before

    # summary, validate, preview, changes
    assert (
        client.post(
            f"{draft}/details", data={"change_summary": "Adds ms_theme", "material": "1"}, headers=headers
        ).status_code
        == 200
    )
    validated = client.post(f"{draft}/validate", headers=headers)
    assert "No problems: this draft can be published." in validated.text
    preview = client.get(f"{draft}/preview")
    assert "Preview of a draft" in preview.text and "ms_theme" in preview.text
    assert preview.headers["content-security-policy"].startswith("default-src 'none'")
    changes = HTMLParser(client.get(f"{draft}/changes").text)
    assert "ms_theme" in changes.css_first("main").text()
    assert "We also remember your console theme." in " ".join(n.text() for n in changes.css(".redline-text ins"))

    # schedule, withdraw, then publish now
    at = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    confirm = client.get(f"{draft}/publish", params={"when": "at", "effective_from": at})
    assert confirm.status_code == 200
    assert "scheduled; it can be withdrawn until then" in confirm.text
    hidden = HTMLParser(confirm.text).css_first("input[name=effective_from]").attributes["value"]
    scheduled = client.post(f"{draft}/publish", data={"effective_from": hidden}, headers=headers)
    assert scheduled.headers["hx-redirect"] == "/console/policy/versions/2?published=1"
    version = client.get("/console/policy/versions/2?published=1")
    assert "published and scheduled" in version.text
    assert client.post("/console/policy/versions/2/withdraw", data={"reason": ""}, headers=headers).status_code == 422
    withdrawn = client.post("/console/policy/versions/2/withdraw", data={"reason": "wrong date"}, headers=headers)
    assert withdrawn.status_code == 200
    assert client.get("/api/policy/versions").json()[0]["number"] == 1  # gone from the public history
    assert "withdrawn" in client.get("/console/policy").text

    second = start_draft(client, headers)
    client.post(f"{second}/details", data={"change_summary": "Adds ms_theme"}, headers=headers)
    data = editor_form(client, second)
    new = int(data["rows"]) - 1
    data.update(
        {
            f"d-{new}-name": "ms_theme",
            f"d-{new}-category": data["d-0-category"],
            f"d-{new}-http_only": "no",
            f"d-{new}-duration.text": "1 year",
            f"d-{new}-duration.seconds": "31536000",
            f"d-{new}-purpose": "Remembers the console theme.",
        }
    )
    client.post(f"{second}/declarations", data=data, headers=headers)
    published = client.post(f"{second}/publish", data={"effective_from": ""}, headers=headers)
    assert published.headers["hx-redirect"] == "/console/policy/versions/3?published=1"
    assert "ms_theme" in client.get("/cookie-policy").text
    actions = [e["action"] for e in client.get("/api/audit").json()["items"]]
    assert {"policy.publish", "policy.withdraw", "policy.draft_edit", "policy.draft_create"} <= set(actions)


def test_publishing_an_unready_draft_says_why(client: TestClient, console_as: Login) -> None:
    headers = console_as("privacy_staff")
    draft = start_draft(client, headers)
    confirm = client.get(f"{draft}/publish")
    assert "cannot be published yet" in confirm.text
    refused = client.post(f"{draft}/publish", data={"effective_from": ""}, headers=headers)
    assert refused.status_code == 422
    assert "change summary is empty" in refused.text
    bad_instant = client.get(f"{draft}/publish", params={"when": "at", "effective_from": "tomorrow"})
    assert bad_instant.status_code == 422


def test_live_preview_renders_markdown_as_the_public_page(client: TestClient, console_as: Login) -> None:
    headers = console_as("privacy_staff")
    response = client.post("/console/policy/markdown", data={"body": "**bold** <script>x</script>"}, headers=headers)
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.text
    assert "<script>" not in response.text


def test_mutations_need_csrf_and_an_editor(client: TestClient, console_as: Login, db: Database) -> None:
    headers = console_as("privacy_staff")
    draft = start_draft(client, headers)
    no_csrf = {"HX-Request": "true"}
    posts = [
        ("/console/policy/drafts", {"based_on": "1"}),
        (f"{draft}/details", {"change_summary": "x"}),
        (f"{draft}/declarations", {"rows": "0"}),
        (f"{draft}/validate", {}),
        (f"{draft}/publish", {}),
        (f"{draft}/discard", {}),
        ("/console/policy/markdown", {"body": "x"}),
        ("/console/policy/versions/1/withdraw", {"reason": "x"}),
    ]
    for path, data in posts:
        assert client.post(path, data=data, headers=no_csrf).status_code == 403, path
    client.cookies.clear()
    auditor = console_as("auditor")
    page = client.get(draft)
    assert page.status_code == 200
    tree = HTMLParser(page.text)
    assert tree.css("form[hx-post], button[hx-post]") == [
        b for b in tree.css("button[hx-post]") if "sign-out" in b.attributes["hx-post"]
    ]
    for path, data in posts:
        refused = client.post(path, data=data, headers=auditor)
        assert refused.status_code == 403, path
        assert "this needs one of the roles: privacy_staff, admin" in refused.text
    assert db.scalar("SELECT count(*) FROM policy_versions WHERE status = 'draft'") == 1


def test_a_stale_revision_is_a_409_page(client: TestClient, console_as: Login) -> None:
    headers = console_as("privacy_staff")
    draft = start_draft(client, headers)
    assert (
        client.post(f"{draft}/details", data={"change_summary": "a", "revision": "1"}, headers=headers).status_code
        == 200
    )
    stale = client.post(f"{draft}/details", data={"change_summary": "b", "revision": "1"}, headers=headers)
    assert stale.status_code == 409
    assert "reload it" in stale.text

"""Drift, inventory and audit-log pages: readable by auditors, actions for privacy staff only, CSRF-checked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from governance.core.clock import utcnow
from governance.enforcement import drift
from tests.conftest import Database

Login = Callable[..., dict[str, str]]


def seen(db: Database, name: str = "_ga", kind: str = "cookie") -> int:
    sighting = drift.DriftSighting(
        kind=kind, name=name, reason="undeclared", source="server", seen_at=utcnow(), page="/x"
    )
    db.run(lambda s: drift.observe(s, [sighting]))
    return int(db.scalar("SELECT id FROM drift_items WHERE name = :n", n=name))


def test_drift_grouped_with_declare_and_dismiss(client: TestClient, console_as: Login, db: Database) -> None:
    item = seen(db)
    other = seen(db, "tracker")
    headers = console_as("privacy_staff")
    page = HTMLParser(client.get("/console/drift").text)
    assert [h.text() for h in page.css("main section h2")] == ["tracker", "_ga"]
    assert client.post(f"/console/drift/{item}/dismiss", data={"reason": " "}, headers=headers).status_code == 422
    assert (
        client.post(f"/console/drift/{item}/dismiss", data={"reason": "x"}, headers={"HX-Request": "true"}).status_code
        == 403
    )
    done = client.post(f"/console/drift/{item}/dismiss", data={"reason": "a test cookie"}, headers=headers)
    assert done.status_code == 200 and done.headers["hx-redirect"] == "/console/drift"
    assert "_ga" not in HTMLParser(client.get("/console/drift").text).css_first("main").text()
    assert "a test cookie" in client.get("/console/drift?status=dismissed").text
    declared = client.post(f"/console/drift/{other}/declare", headers=headers)
    assert declared.headers["hx-redirect"].startswith("/console/policy/drafts/")
    draft = client.get(declared.headers["hx-redirect"].split("#")[0])
    assert 'value="tracker"' in draft.text


def test_auditor_reads_drift_but_cannot_act(client: TestClient, console_as: Login, db: Database) -> None:
    item = seen(db)
    headers = console_as("auditor")
    page = client.get("/console/drift")
    assert page.status_code == 200 and "_ga" in page.text
    assert HTMLParser(page.text).css("main form[hx-post]") == []
    for action in ("dismiss", "declare"):
        assert client.post(f"/console/drift/{item}/{action}", data={"reason": "x"}, headers=headers).status_code == 403
    assert db.scalar("SELECT dismissed_at FROM drift_items WHERE id = :i", i=item) is None


def test_inventory_at_an_instant_with_downloads(client: TestClient, console_as: Login) -> None:
    console_as("auditor")
    page = client.get("/console/inventory")
    assert page.status_code == 200
    tree = HTMLParser(page.text)
    assert len(tree.css("tbody tr")) > 3
    assert "ms_access" in tree.css_first("tbody").text()
    csv = tree.css_first("a[href*='format=csv']").attributes["href"]
    download = client.get(csv)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    before = client.get("/console/inventory", params={"at": "2000-01-01T00:00"})
    assert before.status_code == 404 and "no version of the cookie policy was in force" in before.text
    bad = client.get("/console/inventory", params={"at": "soon"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text


def test_audit_log_filters_pages_and_csv(client: TestClient, console_as: Login) -> None:
    staff = console_as("privacy_staff")
    for _ in range(3):
        client.post("/console/policy/drafts", data={"based_on": "1"}, headers=staff)
    page = HTMLParser(client.get("/console/audit", params={"action": "policy.draft_create"}).text)
    rows = page.css("tbody tr")
    assert len(rows) == 3 and all("policy.draft_create" in r.text() for r in rows)
    assert page.css_first("select#action option[selected]").attributes["value"] == "policy.draft_create"
    csv = page.css_first("a[href*='format=csv']").attributes["href"]
    assert "action=policy.draft_create" in csv
    export = client.get(csv)
    assert export.status_code == 200 and export.text.count("policy.draft_create") == 3
    none = HTMLParser(client.get("/console/audit", params={"actor": "nobody@example.test"}).text)
    assert none.css("tbody tr") == []
    bad = client.get("/console/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "since-errors" in bad.text
    assert client.get("/console/audit", params={"action": "no.such"}).status_code == 400


def test_drift_pages_keep_the_status_filter(client: TestClient, console_as: Login, db: Database, monkeypatch) -> None:
    from governance.console.pages import drift as drift_pages

    monkeypatch.setattr(drift_pages, "PAGE", 1)
    seen(db, "first")
    seen(db, "second")
    console_as("auditor")

    def page(path: str) -> tuple[list[str], list[str]]:
        html = HTMLParser(client.get(path).text)
        return [h.text() for h in html.css("main section h2")], [
            a.attributes["href"] or "" for a in html.css("nav.pager a")
        ]

    first, first_links = page("/console/drift?status=open")
    second, second_links = page(first_links[0])

    assert first_links == ["/console/drift?status=open&offset=1"] and second_links == [
        "/console/drift?status=open&offset=0"
    ]
    assert len(first) == len(second) == 1 and first != second


def test_audit_log_is_paginated(client: TestClient, console_as: Login) -> None:
    staff = console_as("privacy_staff")
    for _ in range(51):
        client.post("/console/policy/drafts", data={"based_on": "1"}, headers=staff)
    first = HTMLParser(client.get("/console/audit").text)
    assert len(first.css("tbody tr")) == 50
    older = first.css_first("nav.pager a").attributes["href"]
    assert "offset=50" in older
    total = int(first.css_first("main > p").text().split()[0])
    assert total >= 51
    assert len(HTMLParser(client.get(older).text).css("tbody tr")) == total - 50


def test_every_page_reads_for_an_auditor_without_controls(client: TestClient, console_as: Login) -> None:
    console_as("auditor")
    for path in [
        "/console/",
        "/console/policy",
        "/console/policy/versions/1",
        "/console/drift",
        "/console/inventory",
        "/console/audit",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        tree = HTMLParser(response.text)
        controls = [n for n in tree.css("[hx-post]") if "sign-out" not in n.attributes["hx-post"]]
        assert controls == [], path


def test_home_shows_scheduled_versions_drafts_and_drift(client: TestClient, console_as: Login, db: Database) -> None:
    seen(db, "_fbp")
    headers = console_as("privacy_staff")
    client.post("/console/policy/drafts", data={"based_on": "1"}, headers=headers)
    draft = client.post("/console/policy/drafts", data={"based_on": "1"}, headers=headers).headers["hx-redirect"]
    client.post(f"{draft}/details", data={"change_summary": "Scheduled"}, headers=headers)
    at = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    client.post(f"{draft}/publish", data={"effective_from": at.isoformat()}, headers=headers)
    response = client.get("/console/")
    assert "set-cookie" not in response.headers  # the console sets no cookie beyond the sign-in's two
    tree = HTMLParser(response.text)
    scheduled = tree.css_first("#h-scheduled").parent
    assert "Version 2" in scheduled.text()
    assert scheduled.css_first("time[data-local]").attributes["datetime"] == at.isoformat()
    assert at.strftime("%Y-%m-%d %H:%M UTC") in scheduled.text()
    assert "Draft based on version 1" in tree.css_first("#h-drafts").parent.text()
    assert "_fbp" in tree.css_first("#h-drift").parent.text()
    assert "No purge has run yet." in tree.css_first("#h-purge").parent.text()

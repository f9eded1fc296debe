"""Every HTML page this app serves loads in Chromium without a request to another origin and without
a page error: the public policy pages, a draft's preview, the API viewer at /schema, an error page."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.conftest import login

PUBLIC_PAGES = ["/cookie-policy", "/cookie-policy/versions", "/cookie-policy/versions/1", "/schema", "/no-such-page"]


def visit(page, url: str) -> tuple[list[str], list[str]]:
    """Load `url`; the requests it made to other origins, and the errors it threw."""
    origin = urlsplit(url)[:2]
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: foreign.append(request.url) if urlsplit(request.url)[:2] != origin else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="networkidle")
    return foreign, errors


def test_every_page_loads_from_this_origin_only(browser, live_server, db):
    for path in PUBLIC_PAGES:
        context = browser.new_context()
        page = context.new_page()
        foreign, errors = visit(page, live_server.url_for(path))
        assert page.title(), f"{path} rendered nothing"  # a positive control: the page is really there
        assert foreign == [] and errors == [], (path, foreign, errors)
        context.close()


def test_the_api_viewer_renders_the_document_offline(browser, live_server, db):
    context = browser.new_context()
    page = context.new_page()
    foreign, errors = visit(page, live_server.url_for("/schema"))
    page.locator(".opblock").nth(30).wait_for(state="attached")  # the viewer renders after the document loads
    assert page.get_by_text("/api/inventory").count() >= 1
    assert foreign == [] and errors == []
    context.close()


def test_a_draft_preview_loads_from_this_origin_only(browser, live_server, db):
    staff = db.create_user("privacy_staff")
    with httpx.Client(base_url=live_server.url) as http:
        headers = login(http, staff)
        draft = http.post("/api/policy/drafts", json={"change_summary": "preview"}, headers=headers).json()
        cookies = dict(http.cookies)
    context = browser.new_context()
    context.add_cookies([{"name": k, "value": v, "url": live_server.url} for k, v in cookies.items()])
    page = context.new_page()
    foreign, errors = visit(page, live_server.url_for(f"/api/policy/drafts/{draft['id']}/preview"))
    assert "Cookie Policy" in page.content()
    assert foreign == [] and errors == []
    context.close()

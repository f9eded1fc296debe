"""The public pages: accessible, self-contained, cookie-free, cached with ETag/Last-Modified."""

import itertools
import re

import pytest
from selectolax.lexbor import LexborHTMLParser

from tests.integration.policy_docs.helpers import draft_with_theme_cookie, publish


def test_the_page_is_public_and_sets_no_cookies(client):
    response = client.get("/cookie-policy")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in response.headers


def test_the_page_is_accessible_html(client):
    tree = LexborHTMLParser(client.get("/cookie-policy").text)

    assert tree.css_first("html").attributes["lang"] == "en"
    assert tree.css_first('meta[name="viewport"]') is not None
    levels = [int(node.tag[1]) for node in tree.css("main h1, main h2, main h3, main h4")]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), f"a heading level is skipped: {levels}"
    assert all(th.attributes.get("scope") in {"col", "row"} for th in tree.css("th"))
    assert len(tree.css("table")) == 2


def test_the_page_loads_nothing_from_anywhere_else(client):
    response = client.get("/cookie-policy")
    tree = LexborHTMLParser(response.text)

    assert not tree.css("script, link, img, iframe")
    external = [a.attributes["href"] for a in tree.css("a[href]") if re.match(r"https?://", a.attributes["href"])]
    assert external == []
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "@media print" in tree.css_first("style").text()


def test_an_unchanged_page_is_a_304(client):
    first = client.get("/cookie-policy")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]

    by_etag = client.get("/cookie-policy", headers={"If-None-Match": etag})
    by_date = client.get("/cookie-policy", headers={"If-Modified-Since": last_modified})
    stale = client.get("/cookie-policy", headers={"If-None-Match": '"something-else"'})

    assert by_etag.status_code == by_date.status_code == 304
    assert by_etag.content == b"" and by_etag.headers["etag"] == etag
    assert stale.status_code == 200 and stale.content == first.content


def test_a_new_version_changes_the_etag(client, login_as):
    etag = client.get("/cookie-policy").headers["etag"]
    headers = login_as("privacy_staff")
    assert publish(client, headers, draft_with_theme_cookie(client, headers)["id"]).status_code == 201

    response = client.get("/cookie-policy", headers={"If-None-Match": etag})

    assert response.status_code == 200 and "ms_theme" in response.text


def test_a_malformed_at_is_a_400_page_that_says_why(client):
    response = client.get("/cookie-policy", params={"at": "yesterday"})

    assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
    assert "ISO 8601" in response.text and "<h1>Bad Request</h1>" in response.text
    api = client.get("/api/policy/current", params={"at": "2026-13-45"})
    assert api.status_code == 400 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["errors"] == [{"field": "at", "detail": api.json()["errors"][0]["detail"]}]


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_instants_at_the_calendar_edges_are_a_400_not_a_500(client, at):
    assert client.get("/cookie-policy", params={"at": at}).status_code == 400
    assert client.get("/api/policy/current", params={"at": at}).status_code == 400


def test_before_the_first_version_nothing_was_in_force(client):
    response = client.get("/cookie-policy", params={"at": "2020-01-01T00:00:00Z"})

    assert response.status_code == 404 and "no version" in response.text
    assert "no version" in client.get("/api/policy/current", params={"at": "2020-01-01"}).json()["detail"]


def test_the_history_lists_versions_with_their_summaries(client, login_as):
    headers = login_as("privacy_staff")
    assert (
        publish(
            client, headers, draft_with_theme_cookie(client, headers)["id"], change_summary="Adds the theme cookie."
        ).status_code
        == 201
    )

    tree = LexborHTMLParser(client.get("/cookie-policy/versions").text)

    rows = [[cell.text(deep=True).strip() for cell in tr.css("th, td")] for tr in tree.css("tbody tr")]
    assert [row[0] for row in rows] == ["Version 2", "Version 1"]
    assert rows[0][3:] == ["In force", "Material", "Adds the theme cookie."]
    assert rows[1][3] == "Superseded"


def test_a_version_page_says_what_changed_since_the_previous_one(client, login_as):
    headers = login_as("privacy_staff")
    assert publish(client, headers, draft_with_theme_cookie(client, headers)["id"]).status_code == 201

    v2 = client.get("/cookie-policy/versions/2")
    v1 = client.get("/cookie-policy/versions/1")

    assert v2.status_code == 200
    changes = LexborHTMLParser(v2.text).css_first("#what-changed").text(deep=True)
    assert "What changed since version 1" in changes and "Added: ms_theme" in changes
    assert "no longer in force" in v1.text and "what-changed" not in v1.text


def test_an_unknown_version_is_a_404(client):
    assert client.get("/cookie-policy/versions/99").status_code == 404
    assert client.get("/api/policy/versions/99").status_code == 404


def test_a_version_page_shows_a_changed_section_word_by_word(client, login_as):
    headers = login_as("privacy_staff")
    draft = draft_with_theme_cookie(client, headers)
    changes = next(s for s in draft["content"]["sections"] if s["id"] == "changes")
    edited = {**changes, "body": changes["body"].replace("update", "revise", 1) + " <b>We email you.</b>"}
    patch = client.patch(f"/api/policy/drafts/{draft['id']}", json={"upsert_sections": [edited]}, headers=headers)
    assert patch.status_code == 200 and "update" in changes["body"]
    assert publish(client, headers, draft["id"]).status_code == 201

    redline = LexborHTMLParser(client.get("/cookie-policy/versions/2").text).css_first("#what-changed .redline")

    assert [i.text() for i in redline.css("ins")] == ["revise", " <b>We email you.</b>"]
    assert [d.text() for d in redline.css("del")] == ["update"]
    assert redline.css("b") == []  # the text is escaped, never markup

"""Odd input is a clear 4xx on every route, never a 500 (issue 14 §2), on both engines."""

from __future__ import annotations

import pytest

from tests.integration.journey.helpers import batch, flush

HUGE = 2**63
DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
PUBLIC_POSTS = [
    ("/journey/events", "application/json"),
    ("/governance/violations", "text/plain"),
    ("/auth/login", "application/json"),
]


@pytest.mark.parametrize(("path", "content_type"), PUBLIC_POSTS)
@pytest.mark.parametrize(
    "body",
    [DEEP_ARRAY, DEEP_OBJECT, '{"events": ' + DEEP_ARRAY + "}", '{"kind": ' + "[" * 40 + "]" * 40 + "}"],
    ids=["array", "object", "nested-array", "within-the-decoders-recursion"],
)
def test_json_nested_too_deep_is_a_400_on_every_public_post(client, path, content_type, body):
    response = client.post(path, content=body, headers={"Content-Type": content_type})

    assert response.status_code in (400, 413), response.text
    assert response.status_code == 413 or "nested more than 32 levels" in response.json()["detail"]


def test_json_of_ordinary_depth_still_passes(client):
    assert client.post("/journey/events", json=batch()).status_code == 202


@pytest.mark.parametrize("url", ["http://[", "https://[::1", "http://[]/", "https://exa mple.com/", "http://:80/"])
def test_a_journey_url_that_does_not_parse_is_refused_or_kept_as_a_path(client, url):
    response = client.post("/journey/events", json=batch({"type": "page_view", "url": url}))

    assert response.status_code in (202, 400, 422), response.text
    flush(client)  # and what was accepted loads into the database without an error


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+14:00",  # before the year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after the year 9999 in UTC
        "0001-01-01",
        "9999-12-31",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ],
)
@pytest.mark.parametrize("path", ["/cookie-policy", "/api/policy/current", "/api/inventory"])
def test_instants_at_the_calendar_edges_are_400s(client, login_as, path, at):
    login_as("auditor")

    response = client.get(path, params={"at": at})

    assert response.status_code == 400, response.text


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    "path", ["/api/journey/report", "/api/violations", "/api/audit", "/api/drift", "/api/audits", "/api/emails"]
)
def test_period_filters_at_the_calendar_edges_never_fail(client, login_as, path, edge):
    login_as("admin", "privacy_staff")

    for name in ("since", "until"):
        response = client.get(path, params={name: edge})
        assert response.status_code in (200, 400), (name, response.text)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/policy/versions/{HUGE}",
        f"/api/policy/diff?from={HUGE}&to=1",
        f"/api/drift/{HUGE}",
        f"/api/audits/{HUGE}",
        f"/api/emails/{HUGE}/events",
        f"/api/emails/{HUGE}/tracking",
        f"/api/retention/runs/{HUGE}",
        f"/api/violations?offset={HUGE}",
        f"/api/audit?offset={HUGE}",
        f"/api/audit?limit={HUGE}",
        f"/api/emails?offset={-1}",
    ],
)
def test_integers_beyond_64_bits_are_400s(client, login_as, path):
    login_as("admin", "privacy_staff")

    response = client.get(path)

    assert response.status_code in (400, 404), response.text


def test_a_draft_based_on_a_huge_version_is_a_400(client, login_as):
    headers = login_as("privacy_staff")

    response = client.post("/api/policy/drafts", json={"based_on": HUGE}, headers=headers)

    assert response.status_code == 400 and "based_on" in response.text


@pytest.mark.parametrize("length", [101, 200])
def test_utm_values_longer_than_the_column_are_400s(client, length):
    body = batch(first_touch={"utm_source": "x" * length})

    response = client.post("/journey/events", json=body)

    assert response.status_code == 400 and "utm_source" in response.text


def test_an_api_key_name_longer_than_the_column_is_a_400(client, login_as):
    headers = login_as("member", account="acme")

    response = client.post("/api/api-keys", json={"name": "k" * 201}, headers=headers)

    assert response.status_code == 400 and "name" in response.text

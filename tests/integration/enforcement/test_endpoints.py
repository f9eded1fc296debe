"""allowlist.json, guard.js, browser reports and the violation log."""

import json
from datetime import UTC, datetime, timedelta

from governance.core import audit
from governance.enforcement import service
from governance.enforcement.schemas import ViolationReport

REPORT = {
    "kind": "local_storage",
    "name": "evil",
    "page": "https://mailssetu.in/pricing?email=a@b.in#x",
    "mode": "enforce",
    "user_agent": "Chromium",
}


def beacon(client, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        "/governance/violations", content=data, headers={"Content-Type": "text/plain;charset=UTF-8", **headers}
    )


def violations(db):
    return db.run(service.list_violations)


def test_allowlist_is_compact_and_cacheable(client, db):
    response = client.get("/governance/allowlist.json")

    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]
    doc = response.json()
    assert doc["policy_version"] == 1 and doc["mode"] == "enforce"
    access = next(c for c in doc["cookie"] if c["name"] == "ms_access")
    assert access == {
        "name": "ms_access",
        "match": "exact",
        "duration": "seconds",
        "max_age": 2592000,
        "http_only": True,
        "same_site": "lax",
        "path": "/",
    }
    assert {item["name"] for item in doc["local_storage"]} >= {"ms_journey_visitor_id"}


def test_allowlist_answers_304_to_a_client_holding_it(client, db):
    etag = client.get("/governance/allowlist.json").headers["etag"]

    again = client.get("/governance/allowlist.json", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag


def test_guard_js_is_generated_from_the_policy_in_force(client, db):
    response = client.get("/governance/guard.js")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "ms_journey_visitor_id" in response.text and "policy v1" in response.text
    assert client.get("/governance/guard.js", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_a_browser_report_is_stored_without_query_string_or_fragment(client, db):
    assert beacon(client, REPORT).status_code == 204

    [stored] = violations(db)
    assert (stored.source, stored.kind, stored.name, stored.mode, stored.reason) == (
        "browser",
        "local_storage",
        "evil",
        "enforce",
        "undeclared",
    )
    assert (
        stored.page == "https://mailssetu.in/pricing" and stored.user_agent == "Chromium" and stored.policy_version == 1
    )


def test_repeated_browser_reports_are_one_row_with_a_count(client, db):
    for _ in range(5):
        beacon(client, REPORT)

    assert [v.count for v in violations(db)] == [5]


def test_a_malformed_report_is_a_400_naming_the_problem(client, db):
    assert beacon(client, b"not json").status_code == 400
    response = beacon(client, {**REPORT, "kind": "indexeddb"})
    assert response.status_code == 400 and "kind" in response.text
    assert violations(db) == []


def test_an_oversized_report_is_refused(client, db):
    assert beacon(client, {**REPORT, "name": "x" * 5000}).status_code == 413


def test_the_violation_log_is_for_auditors_only(client, db, login_as):
    assert client.get("/api/violations").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/violations").status_code == 403


def test_auditors_filter_the_log(client, db, login_as):
    db.run(lambda s: service.record(s, [
        ViolationReport(source="server", kind="cookie", name="evil", reason="undeclared", mode="enforce", page="/a"),
        ViolationReport(source="browser", kind="local_storage", name="tracker", reason="undeclared", mode="report", page="/b"),
    ]))  # fmt: skip
    login_as("auditor")

    browser = client.get("/api/violations", params={"source": "browser"}).json()
    by_name = client.get("/api/violations", params={"name": "evil"}).json()

    assert [v["name"] for v in browser["items"]] == ["tracker"] and browser["total"] == 1
    assert [v["source"] for v in by_name["items"]] == ["server"]
    assert client.get("/api/violations", params={"format": "xml"}).status_code == 400
    assert client.get("/api/violations", params={"source": "proxy"}).status_code == 400


def test_auditors_export_the_log_as_csv_and_the_export_is_audited(client, db, login_as):
    db.run(
        lambda s: service.record(
            s,
            [
                ViolationReport(
                    source="server", kind="cookie", name="=evil", reason="undeclared", mode="enforce", page="/"
                )
            ],
        )
    )
    login_as("auditor")

    response = client.get("/api/violations", params={"format": "csv"})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, row = response.text.lstrip("\ufeff").splitlines()
    assert header.startswith("id,occurred_at,last_seen_at,source,kind,name") and ",'=evil," in row
    assert [e.action for e in db.run(lambda s: audit.entries(s, action="violations.export"))] == ["violations.export"]


def test_purge_deletes_up_to_the_limit_of_rows_older_than_the_cutoff(db):
    now = datetime.now(UTC)
    old = [
        ViolationReport(
            source="server",
            kind="cookie",
            name=f"old{i}",
            reason="undeclared",
            mode="enforce",
            page="/",
            occurred_at=now - timedelta(days=400),
        )
        for i in range(3)
    ]
    fresh = ViolationReport(
        source="server", kind="cookie", name="fresh", reason="undeclared", mode="enforce", page="/", occurred_at=now
    )
    db.run(lambda s: service.record(s, [*old, fresh]))
    cutoff = now - timedelta(days=365)

    assert db.run(lambda s: service.count_before(s, cutoff)) == 3
    assert db.run(lambda s: service.purge_before(s, cutoff, limit=2)) == 2
    assert db.run(lambda s: service.purge_before(s, cutoff, limit=2)) == 1
    assert [v.name for v in violations(db)] == ["fresh"]

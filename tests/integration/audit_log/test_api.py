"""`GET /api/audit`: auditors read the log, filtered and paginated, or download it as CSV (audited)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from governance.core import audit
from tests.integration.audit_log.helpers import chain

T0 = datetime(2026, 6, 15, 12, tzinfo=UTC)


def seed(db) -> None:
    """Four entries by two people on two days, after the app's own first one (version 1 seeded, id 1, now)."""
    from freezegun import freeze_time

    rows = [
        (T0, "ana@example.test", "policy.publish", "cookie-policy v2"),
        (T0 + timedelta(hours=1), "ben@example.test", "tracking.domain_settings", "mail.acme.example"),
        (T0 + timedelta(days=1), "ana@example.test", "policy.withdraw", "cookie-policy v3"),
        (T0 + timedelta(days=1, hours=1), "ana@example.test", "retention.rule", "violations"),
    ]
    for at, actor, action, subject in rows:
        with freeze_time(at, real_asyncio=True):
            db.run(lambda s, a=actor, b=action, c=subject: audit.record(s, actor=a, action=b, subject=c, note="x"))


@pytest.mark.parametrize("role", ["auditor", "privacy_staff", "admin"])
def test_staff_read_the_log_newest_first_with_hashes(client, db, login_as, role):
    seed(db)
    login_as(role)

    response = client.get("/api/audit")

    assert response.status_code == 200, response.text
    page = response.json()
    subjects = [e["subject"] for e in page["items"]]
    assert subjects == ["violations", "cookie-policy v3", "mail.acme.example", "cookie-policy v2", "cookie-policy v1"]
    assert page["total"] == 5 and (page["limit"], page["offset"]) == (100, 0)
    by_id = {e.id: e for e in chain(db)}
    assert all(item["hash"] == by_id[item["id"]].hash and len(item["prev_hash"]) == 64 for item in page["items"])


def test_members_and_strangers_cannot(client, login_as):
    assert client.get("/api/audit").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/audit").status_code == 403


@pytest.mark.parametrize(
    ("params", "subjects"),
    [
        ({"actor": "ben@example.test"}, ["mail.acme.example"]),
        ({"action": "policy.withdraw"}, ["cookie-policy v3"]),
        (
            {"action": ["policy.withdraw", "policy.publish"]},
            ["cookie-policy v3", "cookie-policy v2", "cookie-policy v1"],
        ),
        ({"subject": "cookie-policy"}, ["cookie-policy v3", "cookie-policy v2", "cookie-policy v1"]),
        ({"subject": "cookie-policy v3"}, ["cookie-policy v3"]),
        ({"subject": "cookie%"}, []),  # a prefix, not a pattern
        ({"since": "2026-06-16", "until": "2026-06-17"}, ["violations", "cookie-policy v3"]),
        ({"until": "2026-06-15T13:00:00Z"}, ["cookie-policy v2"]),
        ({"actor": "ana@example.test", "since": "2026-06-16", "action": "retention.rule"}, ["violations"]),
    ],
)
def test_filters(client, db, login_as, params, subjects):
    seed(db)
    login_as("auditor")

    page = client.get("/api/audit", params=params).json()

    assert [e["subject"] for e in page["items"]] == subjects and page["total"] == len(subjects)


def test_pages_carry_the_total(client, db, login_as):
    seed(db)
    login_as("auditor")

    first = client.get("/api/audit", params={"limit": 3}).json()
    second = client.get("/api/audit", params={"limit": 3, "offset": 3}).json()

    assert [len(first["items"]), len(second["items"])] == [3, 2] and first["total"] == second["total"] == 5
    assert {e["id"] for e in first["items"]}.isdisjoint(e["id"] for e in second["items"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "policy.publsh"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-06-16", "until": "2026-06-15"}, "since"),
        ({"limit": 0}, "limit"),
        ({"offset": 10**12}, "offset"),
        ({"actor": "x" * 321}, "actor"),
        ({"actor": "a\x00b"}, "actor"),
        ({"subject": "\x00"}, "subject"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_filters_are_a_400_naming_them(client, db, login_as, params, field):
    seed(db)
    login_as("auditor")

    response = client.get("/api/audit", params=params)

    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/api/audit").status_code == 200


def test_a_csv_download_is_every_matching_entry_oldest_first_and_is_audited(client, db, login_as):
    seed(db)
    login_as("auditor")

    response = client.get("/api/audit", params={"format": "csv", "subject": "cookie-policy", "limit": 1})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="audit-log.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["subject"] for r in rows] == [
        "cookie-policy v1",
        "cookie-policy v2",
        "cookie-policy v3",
    ]  # all, not a page
    assert list(rows[0]) == ["id", "occurred_at", "actor", "action", "subject", "details", "prev_hash", "hash"]
    assert json.loads(rows[1]["details"]) == {"note": "x"}
    [export] = db.run(lambda s: audit.entries(s, action="audit_log.export"))
    assert export.actor.startswith("auditor") and export.details["rows"] == 3
    assert export.details["filters"]["subject"] == "cookie-policy"
    assert client.get("/api/audit", params={"format": "json"}).json()["total"] == 6  # reading a page is not audited


def test_the_route_is_documented(client):
    operation = client.get("/schema/openapi.json").json()["paths"]["/api/audit"]["get"]

    assert operation["summary"] and "description" in operation
    assert {"200", "400", "422"} <= set(operation["responses"])
    names = {p["name"] for p in operation["parameters"]}
    assert {"actor", "action", "subject", "since", "until", "limit", "offset", "format"} <= names


NEW_ROUTES = [
    ("/api/audit", "get"),
    ("/api/evidence", "get"),
    ("/api/policy/versions/{number}/withdraw", "post"),
    ("/api/policy/drafts/{draft_id}/diff", "get"),
    ("/api/policy/drafts/{draft_id}", "patch"),
    ("/api/policy/diff", "get"),
]


def test_every_new_route_has_a_summary_a_description_and_its_error_responses(client):
    paths = client.get("/schema/openapi.json").json()["paths"]

    for path, method in NEW_ROUTES:
        operation = paths[path][method]
        assert operation.get("summary") and operation.get("description"), (path, method)
        errors = {code for code in operation["responses"] if code.startswith("4")}
        assert errors, (path, method)
        for code in errors:
            assert "application/problem+json" in operation["responses"][code]["content"], (path, method, code)

"""Auditors export every declared cookie and storage key in force at an instant."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from governance.inventory.service import COLUMNS
from tests.integration.policy_docs.helpers import THEME_COOKIE, publish, start_draft

ROOT = Path(__file__).parents[3]


def parse_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize("role", ["auditor", "privacy_staff"])
def test_auditors_export_csv_with_one_row_per_declaration(client, login_as, role):
    login_as(role)

    response = client.get("/api/inventory", params={"at": "2026-06-01T00:00:00Z", "format": "csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = parse_csv(response.text)
    assert list(rows[0]) == list(COLUMNS)
    access = next(r for r in rows if r["name"] == "ms_access")
    assert (access["kind"], access["http_only"], access["same_site"], access["duration_seconds"]) == (
        "cookie",
        "true",
        "lax",
        "2592000",
    )
    assert {r["policy_version"] for r in rows} == {"1"} and len(rows) == 6
    assert {r["effective_from"] for r in rows} == {"2026-04-17T00:00:00+00:00"}


def test_json_export_and_every_export_is_audited(client, db, login_as):
    login_as("auditor")

    rows = client.get("/api/inventory", params={"format": "json"}).json()

    assert {r["name"] for r in rows} >= {"ms_access", "ms_csrf", "ms_journey_visitor_id"}
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'inventory.export'") == 1


def test_cells_a_spreadsheet_would_run_as_formulas_are_escaped(client, login_as):
    headers = login_as("privacy_staff")
    draft = start_draft(client, headers)
    risky = {**THEME_COOKIE, "purpose": '=HYPERLINK("http://evil.example")'}
    client.patch(f"/api/policy/drafts/{draft['id']}", json={"upsert_declarations": [risky]}, headers=headers)
    assert publish(client, headers, draft["id"]).status_code == 201

    rows = parse_csv(client.get("/api/inventory", params={"format": "csv"}).text)

    assert next(r for r in rows if r["name"] == "ms_theme")["purpose"].startswith("'=")


def test_members_may_not_export(client, login_as):
    login_as("member", account="acme")

    assert client.get("/api/inventory").status_code == 403


def test_bad_input_is_a_400_that_says_why(client, login_as):
    login_as("auditor")

    bad_format = client.get("/api/inventory", params={"format": "xlsx"})
    bad_at = client.get("/api/inventory", params={"at": "soon"})

    assert bad_format.status_code == bad_at.status_code == 400
    assert [e["field"] for e in bad_format.json()["errors"]] == ["format"] and "ISO 8601" in bad_at.json()["detail"]
    assert client.get("/api/inventory", params={"at": "2000-01-01"}).status_code == 404


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MS_DATABASE_URL": db_url, "MS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "governance", "inventory", "export", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_cli_exports_the_inventory_at_an_instant(client, db):
    client.get("/cookie-policy")  # the app seeded version 1

    result = run_cli(db.url, "--at", "2026-06-01T00:00:00Z", "--format", "csv")

    assert result.returncode == 0, result.stderr
    assert {row["name"] for row in parse_csv(result.stdout)} >= {"ms_access", "ms_csrf"}
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'inventory.export' AND actor = 'cli'") == 1


def test_the_cli_refuses_bad_input_with_a_sentence(client, db):
    client.get("/cookie-policy")

    bad_at = run_cli(db.url, "--at", "not-a-date")
    bad_format = run_cli(db.url, "--format", "xml")

    assert bad_at.returncode != 0 and "ISO 8601" in bad_at.stderr
    assert bad_format.returncode != 0 and "csv" in bad_format.stderr

"""`GET|PUT /api/retention` and `GET|POST /api/retention/runs`."""

from datetime import UTC, datetime, timedelta

import pytest

from governance.retention.registry import data_classes
from tests.integration.retention.seed import count, period, seed


def rules_by_name(body: dict) -> dict[str, dict]:
    return {rule["data_class"]: rule for rule in body["rules"]}


def test_privacy_staff_read_every_data_class_with_its_default(client, login_as):
    login_as("privacy_staff")

    body = client.get("/api/retention").json()

    rules = rules_by_name(body)
    assert set(rules) == set(data_classes())
    assert rules["audit_log"]["period_days"] == rules["audit_log"]["default_days"] == 7 * 365
    assert rules["journey_events"]["partitioned_on_postgresql"] is True
    assert not any(rule["custom"] for rule in rules.values())
    assert body["scheduler_enabled_here"] is False


def test_a_changed_period_is_kept_and_audited(client, login_as, db):
    csrf = login_as("privacy_staff")

    response = client.put("/api/retention", json={"periods": {"violations": 90}}, headers=csrf)

    assert response.status_code == 200, response.text
    changed = rules_by_name(response.json())["violations"]
    assert changed["period_days"] == 90 and changed["custom"] is True
    assert rules_by_name(client.get("/api/retention").json())["violations"]["period_days"] == 90
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'retention.rule' AND subject = 'violations'") == 1


def test_null_restores_the_default(client, login_as):
    csrf = login_as("privacy_staff")
    client.put("/api/retention", json={"periods": {"violations": 90}}, headers=csrf)

    response = client.put("/api/retention", json={"periods": {"violations": None}}, headers=csrf)

    rule = rules_by_name(response.json())["violations"]
    assert rule["period_days"] == rule["default_days"] and rule["custom"] is False


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ({"violations": 0}, "positive"),
        ({"violations": -5}, "positive"),
        ({"audit_log": 30}, "cannot be shorter than"),
        ({"violations": 10**12}, "cannot be longer than"),
        ({"nonsense": 30}, "unknown data class"),
        ({}, "nothing to change"),
    ],
)
def test_invalid_periods_are_refused_and_nothing_changes(client, login_as, db, periods, message):
    csrf = login_as("privacy_staff")
    valid_beside_it = {"login_failures": 7} if periods else {}

    response = client.put("/api/retention", json={"periods": {**valid_beside_it, **periods}}, headers=csrf)

    assert response.status_code == 422 and message in response.text
    assert db.scalar("SELECT count(*) FROM retention_rules") == 0


def test_a_period_that_is_not_a_number_is_a_400(client, login_as):
    csrf = login_as("privacy_staff")

    response = client.put("/api/retention", json={"periods": {"violations": "a year"}}, headers=csrf)

    assert response.status_code == 400


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_only_privacy_staff_and_admins_change_rules(client, login_as, role):
    csrf = login_as(role)

    response = client.put("/api/retention", json={"periods": {"violations": 90}}, headers=csrf)

    assert response.status_code == (200 if role == "admin" else 403)


def test_members_see_nothing_of_retention(client, login_as):
    login_as("member", account="acme")

    assert client.get("/api/retention").status_code == 403
    assert client.get("/api/retention/runs").status_code == 403


def test_run_now_purges_and_the_run_is_listed(client, login_as, db):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, datetime.now(UTC))
    csrf = login_as("privacy_staff")

    created = client.post("/api/retention/runs", headers=csrf)

    assert created.status_code == 201, created.text
    run = created.json()
    assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["deleted"]["violations"] == 1
    assert count(db, "violations") == 1
    assert [r["id"] for r in client.get("/api/retention/runs").json()["items"]] == [run["id"]]


def test_auditors_export_the_purge_log_as_csv(client, login_as, db):
    csrf = login_as("privacy_staff")
    client.post("/api/retention/runs", headers=csrf)
    client.post("/auth/logout", headers=csrf)
    login_as("auditor")

    response = client.get("/api/retention/runs", params={"format": "csv"})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, row = response.text.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("id,slot,trigger,actor,status") and ",manual," in row and "succeeded" in row


def test_auditors_cannot_start_a_purge(client, login_as):
    csrf = login_as("auditor")

    assert client.post("/api/retention/runs", headers=csrf).status_code == 403

"""`GET|PUT /api/retention`, `GET /api/retention/preview` and `GET|POST /api/retention/runs`."""

import asyncio
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from governance.app import create_app
from governance.retention import service
from governance.retention.registry import data_classes
from tests.conftest import login
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
    assert client.get("/api/retention/preview").status_code == 403
    assert client.get("/api/retention/runs").status_code == 403


def test_auditors_read_the_periods_but_cannot_change_them(client, login_as):
    csrf = login_as("auditor")

    assert set(rules_by_name(client.get("/api/retention").json())) == set(data_classes())
    assert client.put("/api/retention", json={"periods": {"violations": 90}}, headers=csrf).status_code == 403


def finished(client, run_id: int, timeout: float = 30) -> dict:
    """Poll the run as the console does, until it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/retention/runs/{run_id}").json()
        if run["status"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"purge run {run_id} still running after {timeout} s")


def test_the_dry_run_counts_what_would_go_and_deletes_nothing(client, login_as, db):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, expired, datetime.now(UTC))
    login_as("auditor")

    body = client.get("/api/retention/preview").json()

    by_class = {row["data_class"]: row for row in body["classes"]}
    assert set(by_class) == set(data_classes())
    assert by_class["violations"]["rows"] == 2 and body["total"] >= 2
    assert count(db, "violations") == 3


def test_run_now_purges_in_the_background_and_the_run_is_listed(client, login_as, db):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, datetime.now(UTC))
    csrf = login_as("privacy_staff")

    created = client.post("/api/retention/runs", headers=csrf)

    assert created.status_code == 202, created.text
    run = finished(client, created.json()["id"])
    assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["deleted"]["violations"] == 1
    assert count(db, "violations") == 1
    assert [r["id"] for r in client.get("/api/retention/runs").json()["items"]] == [run["id"]]


@pytest.fixture
def held_purge(monkeypatch):
    """The violations class's purge waits until the test lets it go (the event loop stays free meanwhile)."""
    release = threading.Event()
    classes = data_classes()
    real = classes["violations"]

    async def waiting(session, cutoff, limit):
        while not release.is_set():  # noqa: ASYNC110  (a threading.Event: the test thread sets it)
            await asyncio.sleep(0.01)
        return await real.purge(session, cutoff, limit)

    monkeypatch.setitem(classes, "violations", replace(real, purge=waiting))
    yield release
    release.set()


def test_the_post_answers_before_the_purge_ends_and_progress_shows(client, login_as, db, held_purge):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, expired)
    csrf = login_as("privacy_staff")

    created = client.post("/api/retention/runs", headers=csrf)

    assert created.status_code == 202
    run = created.json()
    assert run["status"] == "running" and run["finished_at"] is None
    assert client.get(f"/api/retention/runs/{run['id']}").json()["status"] == "running"
    second = client.post("/api/retention/runs", headers=csrf)
    assert second.status_code == 409 and "already running" in second.json()["detail"]
    assert count(db, "violations") == 2  # nothing of the held class deleted yet

    held_purge.set()

    done = finished(client, run["id"])
    assert done["status"] == "succeeded" and done["deleted"]["violations"] == 2 and done["finished_at"]
    assert client.post("/api/retention/runs", headers=csrf).status_code == 202  # free again


@pytest.fixture
def slow_purge(monkeypatch):
    """Purges go one row per batch, each batch 20 ms long after its delete; yields the batches begun
    and ended, so a test sees whether a batch was cut short."""
    classes = data_classes()
    real = classes["violations"]
    batches = SimpleNamespace(begun=0, ended=0)

    async def slowly(session, cutoff, limit):
        batches.begun += 1
        rows = await real.purge(session, cutoff, limit)
        await asyncio.sleep(0.02)
        batches.ended += 1
        return rows

    monkeypatch.setitem(classes, "violations", replace(real, purge=slowly))
    monkeypatch.setattr(service, "BATCH_SIZE", 1)
    monkeypatch.setattr(service, "TimedBatches", lambda *_, **__: SimpleNamespace(size=1, took=lambda *_: None))
    return batches


def test_a_stopping_app_pauses_its_purge_after_a_batch_and_the_next_purge_finishes_it(settings, db, slow_purge):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", *[expired] * 60)
    with TestClient(create_app(settings)) as client:
        csrf = login(client, db.create_user("privacy_staff"))
        run_id = client.post("/api/retention/runs", headers=csrf).json()["id"]
        while not client.get(f"/api/retention/runs/{run_id}").json()["deleted"]["violations"]:
            time.sleep(0.01)

    # the app has stopped: its run paused after a whole batch, none was cancelled mid-transaction
    assert slow_purge.begun == slow_purge.ended
    paused = db.run(lambda s: s.get(service.PurgeRun, run_id))
    assert paused.status == "running" and 0 < paused.deleted["violations"] < 60
    assert paused.deleted["violations"] == 60 - count(db, "violations")  # counted in each batch's transaction
    db.run(lambda s: s.execute(text("DELETE FROM violations WHERE 1 = 0")))  # the write lock is free

    with TestClient(create_app(settings)) as client:  # the next start finishes the paused run first
        csrf = login(client, db.create_user("privacy_staff"))
        finished(client, client.post("/api/retention/runs", headers=csrf).json()["id"])

    resumed = db.run(lambda s: s.get(service.PurgeRun, run_id))
    assert resumed.status == "succeeded" and resumed.resumed == 1 and resumed.deleted["violations"] == 60
    assert count(db, "violations") == 0


def test_an_unknown_run_is_a_404(client, login_as):
    login_as("auditor")

    assert client.get("/api/retention/runs/999999").status_code == 404


def test_auditors_export_the_purge_log_as_csv(client, login_as, db):
    csrf = login_as("privacy_staff")
    finished(client, client.post("/api/retention/runs", headers=csrf).json()["id"])
    client.post("/auth/logout", headers=csrf)
    login_as("auditor")

    response = client.get("/api/retention/runs", params={"format": "csv"})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, row = response.text.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("id,slot,trigger,actor,status") and ",manual," in row and "succeeded" in row


def test_auditors_cannot_start_a_purge(client, login_as):
    csrf = login_as("auditor")

    assert client.post("/api/retention/runs", headers=csrf).status_code == 403

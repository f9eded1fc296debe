"""`python -m governance audit-log export|verify`, run in-process on an app of its own."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from governance.core import audit
from tests.integration.audit_log.helpers import append, chain, execute

T0 = datetime(2026, 6, 15, 12, tzinfo=UTC)
ROOT = Path(__file__).parents[3]


def test_verify_says_the_chain_holds_with_exit_0(cli, db):
    append(db, 3)

    result = cli("audit-log", "verify")

    assert result.exit_code == 0, result.output
    assert "the audit log holds: 3 entries" in result.output and "whole chain intact" in result.output


def test_verify_names_the_first_entry_that_does_not_match_with_exit_1(cli, db):
    append(db, 4)
    second = chain(db)[1]
    execute(db, "UPDATE audit_log SET details = :d WHERE id = :id", d='{"n": 99}', id=second.id)

    result = cli("audit-log", "verify")

    assert result.exit_code == 1
    assert f"entry #{second.id}" in result.output and "was changed after it was written" in result.output


def test_verify_checks_a_range_by_ids_or_instants(cli, db):
    for day in range(3):
        append(db, 2, at=T0 + timedelta(days=day))
    ids = [e.id for e in chain(db)]
    execute(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=ids[-1])

    by_ids = cli("audit-log", "verify", "--from-id", str(ids[0]), "--to-id", str(ids[3]))
    by_time = cli("audit-log", "verify", "--since", "2026-06-15", "--until", "2026-06-17")
    whole = cli("audit-log", "verify")

    assert by_ids.exit_code == 0 and "4 entries" in by_ids.output and "this stretch intact" in by_ids.output
    assert by_time.exit_code == 0 and "4 entries" in by_time.output
    assert whole.exit_code == 1 and f"entry #{ids[-1]}" in whole.output


def test_verify_refuses_mixed_or_bad_ranges_with_a_sentence(cli, db):
    mixed = cli("audit-log", "verify", "--since", "2026-06-15", "--from-id", "1")
    backwards = cli("audit-log", "verify", "--from-id", "5", "--to-id", "2")
    huge = cli("audit-log", "verify", "--from-id", str(2**63))
    bad_instant = cli("audit-log", "verify", "--since", "soon")

    assert mixed.exit_code == backwards.exit_code == huge.exit_code == 2
    assert "not both" in mixed.output and "--from-id" in backwards.output
    assert bad_instant.exit_code == 1 and "ISO 8601" in bad_instant.output


def test_export_writes_every_entry_oldest_first_and_records_itself(cli, db, tmp_path):
    append(db, 3, at=T0)
    append(db, 2, at=T0 + timedelta(days=1))
    target = tmp_path / "audit.csv"

    result = cli("audit-log", "export", "--since", "2026-06-15", "--until", "2026-06-16", "--output", str(target))

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert [int(r["id"]) for r in rows] == [e.id for e in chain(db)[:3]]
    assert all(len(r["hash"]) == 64 for r in rows) and "wrote 3 entries" in result.output
    [export] = db.run(lambda s: audit.entries(s, action="audit_log.export"))
    assert export.actor == "cli" and export.details["rows"] == 3 and export.details["format"] == "csv"


def test_export_as_json_to_stdout_round_trips_the_hashes(cli, db):
    append(db, 2)

    result = cli("audit-log", "export", "--format", "json")

    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    assert [(e["id"], e["hash"], e["prev_hash"]) for e in exported] == [
        (e.id, e.hash, e.prev_hash) for e in chain(db)[:2]
    ]


def test_the_command_line_itself_exits_1_on_a_broken_chain(db):
    append(db, 2)
    execute(db, "DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)")
    env = {**os.environ, "MS_DATABASE_URL": db.url, "MS_LOG_LEVEL": "WARNING"}

    result = subprocess.run(
        [sys.executable, "-m", "governance", "audit-log", "verify"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1 and "does not follow the start of the chain" in result.stderr


def test_export_filters_by_actor_action_and_subject_as_the_api_does(cli, db):
    append(db, 2, action="policy.publish")
    append(db, 1, action="retention.rule")

    by_action = cli("audit-log", "export", "--format", "json", "--action", "retention.rule")
    by_subject = cli("audit-log", "export", "--format", "json", "--subject", "thing 1", "--actor", "staff@example.test")
    nobody = cli("audit-log", "export", "--format", "json", "--actor", "mallory")

    assert [e["action"] for e in json.loads(by_action.stdout)] == ["retention.rule"]
    assert {e["subject"] for e in json.loads(by_subject.stdout)} == {"thing 1"}
    assert json.loads(nobody.stdout) == []


def test_export_refuses_a_malformed_instant_with_a_sentence(cli, db):
    result = cli("audit-log", "export", "--since", "last tuesday")

    assert result.exit_code == 1 and "--since" in result.output and "not an ISO 8601 instant" in result.output

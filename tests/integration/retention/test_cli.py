"""`python -m governance purge [--dry-run]` and `python -m governance scheduler`."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.retention.seed import count, period, seed


@pytest.fixture
def cli_env(db):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, expired, datetime.now(UTC))
    return db


def test_dry_run_lists_what_would_be_deleted_and_deletes_nothing(cli, cli_env):
    result = cli("purge", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Dry run: nothing is deleted" in result.output
    [violations_line] = [line for line in result.output.splitlines() if line.startswith("violations ")]
    assert violations_line.split()[-1] == "2"
    assert count(cli_env, "violations") == 3
    assert cli_env.scalar("SELECT count(*) FROM purge_runs") == 0


def test_purge_deletes_and_reports_the_run(cli, cli_env):
    result = cli("purge", "--batch-size", "1")

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "violations: 2 deleted" in result.output
    assert count(cli_env, "violations") == 1


def test_purge_and_scheduler_are_commands_of_python_m_governance(db):
    env = {**os.environ, "MS_DATABASE_URL": db.url}

    helps = [
        subprocess.run(
            [sys.executable, "-m", "governance", name, "--help"], env=env, capture_output=True, text=True, timeout=60
        )
        for name in ("purge", "scheduler")
    ]

    assert [h.returncode for h in helps] == [0, 0], [h.stderr for h in helps]
    assert "--dry-run" in helps[0].stdout and "MS_PURGE_AT_UTC" in helps[1].stdout


def test_the_scheduler_runs_alone_until_it_is_told_to_stop(db):
    import signal

    env = {**os.environ, "MS_DATABASE_URL": db.url, "MS_PURGE_AT_UTC": "04:30"}
    process = subprocess.Popen(
        [sys.executable, "-m", "governance", "scheduler"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        start_up: list[str] = []
        while len(start_up) < 40 and not any("Scheduler started" in line for line in start_up):
            start_up.append(process.stderr.readline())
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        process.kill()

    assert any("daily purge at 04:30 UTC" in line for line in start_up)
    assert process.returncode == 0 and "retention scheduler stopped" in rest

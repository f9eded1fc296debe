"""A purge killed midway leaves a consistent database; the rerun finishes the same run."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from governance.retention.models import PurgeRun
from tests.integration.retention.seed import count, period, purge, seed

ROOT = Path(__file__).resolve().parents[3]


def test_a_purge_killed_midway_is_completed_by_the_rerun(db):
    now = datetime.now(UTC)
    expired = now - period("login_failures") - timedelta(days=1)
    seed(db, "login_failures", *[expired - timedelta(minutes=n) for n in range(9)], now)

    killed = subprocess.run(
        [sys.executable, "-m", "tests.integration.retention.crash_midway", db.url, "2"], cwd=ROOT, timeout=60
    )

    assert killed.returncode == 9
    [doomed] = db.run(_runs)
    assert doomed.status == "running" and doomed.deleted["login_failures"] == 4  # two batches of 2, committed
    assert count(db, "login_failures") == 6

    rerun = purge(db)

    doomed_after, rerun_after = db.run(_runs)
    assert doomed_after.status == "succeeded" and doomed_after.resumed == 1
    assert doomed_after.deleted["login_failures"] == 9  # every expired row counted exactly once
    assert rerun_after.id == rerun.id and rerun.deleted["login_failures"] == 0
    assert count(db, "login_failures") == 1


async def _runs(session):
    from sqlalchemy import select

    return list(await session.scalars(select(PurgeRun).where(PurgeRun.actor != "seed").order_by(PurgeRun.id)))

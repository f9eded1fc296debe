"""PostgreSQL: event tables partitioned by month; a purge drops whole expired months."""

from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from governance.retention import partitions
from tests.integration.retention.seed import T0, count, period, purge, seed

PROBE = "retention_probe_events"


@pytest.fixture
def pg(db):
    if not db.url.startswith("postgresql"):
        pytest.skip("partitions are PostgreSQL only; SQLite keeps batched deletes")
    return db


def run_sync(db, work):
    """`work(connection)` on a synchronous connection, in its own committed transaction."""
    return db.run(lambda session: session.run_sync(lambda s: work(s.connection())))


@pytest.fixture
def probe(pg):
    """A plain table shaped like the event tables (BigInt id, indexed occurred_at), with rows."""
    pg.run(lambda s: s.execute(text(f"DROP TABLE IF EXISTS {PROBE} CASCADE")))
    pg.run(
        lambda s: s.execute(
            text(
                f"CREATE TABLE {PROBE} (id BIGSERIAL CONSTRAINT pk_{PROBE} PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL, note TEXT)"
            )
        )
    )
    pg.run(lambda s: s.execute(text(f"CREATE INDEX ix_{PROBE}_occurred_at ON {PROBE} (occurred_at)")))
    pg.run(
        lambda s: s.execute(
            text(
                f"INSERT INTO {PROBE} (occurred_at, note) VALUES ('2026-04-03Z', 'april'), ('2026-06-01Z', 'june'), ('2019-01-01Z', 'ancient')"
            )
        )
    )
    yield pg
    pg.run(lambda s: s.execute(text(f"DROP TABLE IF EXISTS {PROBE} CASCADE")))


def partition_of(db, note: str) -> str:
    return db.scalar(f"SELECT tableoid::regclass::text FROM {PROBE} WHERE note = :note", note=note)


def test_a_plain_table_becomes_monthly_partitions_with_its_rows_indexes_and_ids(probe):
    run_sync(probe, lambda c: partitions.convert_to_partitioned(c, PROBE, "occurred_at", T0))

    assert run_sync(probe, lambda c: partitions.is_partitioned(c, PROBE))
    assert partition_of(probe, "april") == f"{PROBE}_p202604" and partition_of(probe, "june") == f"{PROBE}_p202606"
    assert partition_of(probe, "ancient") == f"{PROBE}_default"  # older than the months created on conversion
    months = run_sync(probe, lambda c: partitions.month_partitions(c, PROBE))
    assert months[0] == date(2023, 6, 1) and months[-1] == date(2026, 9, 1)  # 36 months back, 3 ahead
    assert probe.scalar(f"SELECT pg_get_indexdef('pk_{PROBE}'::regclass)").endswith("(id, occurred_at)")
    assert probe.scalar(f"SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_{PROBE}_occurred_at'") == 1
    new_id = probe.scalar(f"INSERT INTO {PROBE} (occurred_at, note) VALUES ('2026-06-20Z', 'new') RETURNING id")
    assert new_id == 4


def test_a_month_created_late_takes_its_rows_out_of_the_default_partition(probe):
    run_sync(probe, lambda c: partitions.convert_to_partitioned(c, PROBE, "occurred_at", T0))
    probe.run(lambda s: s.execute(text(f"INSERT INTO {PROBE} (occurred_at, note) VALUES ('2026-12-24Z', 'late')")))
    assert partition_of(probe, "late") == f"{PROBE}_default"

    created = run_sync(
        probe, lambda c: partitions.ensure_partitions(c, PROBE, "occurred_at", datetime(2026, 12, 1, tzinfo=UTC))
    )

    assert created == [f"{PROBE}_p202612", f"{PROBE}_p202701", f"{PROBE}_p202702", f"{PROBE}_p202703"]
    assert partition_of(probe, "late") == f"{PROBE}_p202612"


def test_only_months_entirely_before_the_cutoff_are_expired(probe):
    run_sync(probe, lambda c: partitions.convert_to_partitioned(c, PROBE, "occurred_at", T0))
    cutoff = datetime(2026, 5, 1, tzinfo=UTC)

    expired = run_sync(probe, lambda c: partitions.expired_partitions(c, PROBE, cutoff))
    dropped_rows = run_sync(probe, lambda c: partitions.drop_partition(c, f"{PROBE}_p202604"))

    assert expired[-1] == f"{PROBE}_p202604" and f"{PROBE}_p202605" not in expired
    assert dropped_rows == 1 and partition_of(probe, "june") == f"{PROBE}_p202606"
    assert probe.scalar(f"SELECT count(*) FROM {PROBE} WHERE note = 'april'") == 0


def test_back_to_a_plain_table_keeps_rows_and_ids(probe):
    run_sync(probe, lambda c: partitions.convert_to_partitioned(c, PROBE, "occurred_at", T0))

    run_sync(probe, lambda c: partitions.convert_to_plain(c, PROBE))

    assert not run_sync(probe, lambda c: partitions.is_partitioned(c, PROBE))
    assert probe.scalar(f"SELECT count(*) FROM {PROBE}") == 3
    assert probe.scalar(f"INSERT INTO {PROBE} (occurred_at) VALUES (now()) RETURNING id") == 4


@pytest.mark.parametrize("table", ["tracking_events", "journey_events"])
def test_the_migration_partitioned_the_event_tables(pg, table):
    assert run_sync(pg, lambda c: partitions.is_partitioned(c, table))


def test_a_purge_drops_expired_months_and_deletes_the_rest_row_by_row(pg):
    cutoff = T0 - period("journey_events")  # 2025-05-16 12:00
    for month in (date(2025, 2, 1), date(2025, 5, 1)):  # months of a table live for over a year
        run_sync(pg, lambda c, m=month: partitions.create_month_partition(c, "journey_events", "occurred_at", m))
    whole_month_expired = [datetime(2025, 2, day, tzinfo=UTC) for day in (3, 14)]
    partly_expired_month = [cutoff - timedelta(days=3), cutoff + timedelta(days=3)]
    seed(pg, "journey_events", *whole_month_expired, *partly_expired_month, T0 - timedelta(days=10))

    with freeze_time(T0, real_asyncio=True):
        run = purge(pg)

    assert run.status == "succeeded", run.error
    assert run.partitions_dropped == ["journey_events_p202502"]
    assert run.deleted["journey_events"] == 3  # two with the partition, one by batched delete
    assert count(pg, "journey_events") == 2
    months_now = run_sync(pg, lambda c: partitions.month_partitions(c, "journey_events"))
    assert {date(2026, 6, 1), date(2026, 9, 1)} <= set(months_now)  # created ahead by the purge

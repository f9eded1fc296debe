"""Monthly range partitions on PostgreSQL, so a purge drops whole expired months instead of deleting rows.

Written by hand because neither SQLAlchemy nor Alembic manage partitions. Every function takes
a synchronous `Connection` (Alembic's, or an async session's through `run_sync`).

Layout of a partitioned table `t` on column `c`: `t_pYYYYMM` holds [first of month, first of
next month), `t_default` catches anything else (months nobody created ahead, far past or
future). The primary key becomes `(id, c)`: PostgreSQL requires the partition key in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

MONTHS_AHEAD = 3
MONTHS_BACK_ON_CONVERT = 36  # older rows go to the default partition: the purge deletes them in batches


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def is_partitioned(conn: Connection, table: str) -> bool:
    kind = conn.scalar(text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table})
    return bool(kind == "p")


def table_exists(conn: Connection, table: str) -> bool:
    return bool(conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}))


def month_partitions(conn: Connection, table: str) -> list[date]:
    """The monthly partitions that exist, oldest first (the default partition is not one)."""
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table},
    )
    pattern = re.compile(rf"{re.escape(table)}_p(\d{{4}})(\d{{2}})")
    months = [date(int(m[1]), int(m[2]), 1) for name in names if (m := pattern.fullmatch(name))]
    return sorted(months)


def create_month_partition(conn: Connection, table: str, column: str, month: date) -> bool:
    """Create the partition for `month` if missing. Rows of that month already sitting in the
    default partition are moved into it first (PostgreSQL refuses the partition otherwise)."""
    name = partition_name(table, month)
    if table_exists(conn, name):
        return False
    parent, default, part, col = _quote(table), _quote(f"{table}_default"), _quote(name), _quote(column)
    low, high = _bound(month), _bound(add_months(month, 1))
    in_range = f"{col} >= {low} AND {col} < {high}"
    if table_exists(conn, f"{table}_default") and conn.scalar(
        text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_range})")
    ):
        conn.execute(text(f"CREATE TABLE {part} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        conn.execute(
            text(
                f"WITH moved AS (DELETE FROM {default} WHERE {in_range} RETURNING *) INSERT INTO {part} SELECT * FROM moved"
            )
        )
        conn.execute(text(f"ALTER TABLE {parent} ATTACH PARTITION {part} FOR VALUES FROM ({low}) TO ({high})"))
    else:
        conn.execute(text(f"CREATE TABLE {part} PARTITION OF {parent} FOR VALUES FROM ({low}) TO ({high})"))
    return True


def ensure_partitions(
    conn: Connection, table: str, column: str, now: datetime, months_ahead: int = MONTHS_AHEAD
) -> list[str]:
    """The current month and the next `months_ahead`: run by every purge, so inserts land in a month partition."""
    first = month_start(now)
    months = [add_months(first, n) for n in range(months_ahead + 1)]
    return [partition_name(table, m) for m in months if create_month_partition(conn, table, column, m)]


def expired_partitions(conn: Connection, table: str, cutoff: datetime) -> list[str]:
    """Month partitions whose every possible row is older than `cutoff`."""
    return [
        partition_name(table, m)
        for m in month_partitions(conn, table)
        if datetime.combine(add_months(m, 1), datetime.min.time(), UTC) <= cutoff
    ]


def drop_partition(conn: Connection, name: str) -> int:
    """Drop one partition; returns how many rows went with it."""
    rows = conn.scalar(text(f"SELECT count(*) FROM {_quote(name)}")) or 0
    conn.execute(text(f"DROP TABLE {_quote(name)}"))
    return rows


@dataclass(frozen=True)
class _Shape:
    """What a table rebuild must carry over: primary key name, index and foreign key definitions, id sequence."""

    pk_name: str
    index_defs: list[str]
    foreign_keys: list[tuple[str, str]]
    sequence: str | None


def _shape(conn: Connection, table: str) -> _Shape:
    params = {"t": table}
    pk_name = conn.scalar(
        text("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) AND contype = 'p'"), params
    )
    index_defs = conn.scalars(
        text(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t AND indexname <> :pk"
        ),
        {"t": table, "pk": pk_name},
    )
    foreign_keys = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(:t) AND contype = 'f' AND conparentid = 0"
        ),
        params,
    )
    sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), params)
    # A partitioned parent's index definitions read `ON ONLY t`: recreated on a table, they must not.
    return _Shape(
        pk_name, [d.replace(" ON ONLY ", " ON ") for d in index_defs], [tuple(fk) for fk in foreign_keys], sequence
    )


def _rebuild(
    conn: Connection,
    table: str,
    shape: _Shape,
    create: str,
    primary_key: str,
    before_copy: Callable[[], None] | None = None,
) -> None:
    """Rename `table` aside, create the new one (`create` gets the old name), copy the rows, drop the
    old one, then put back the primary key, indexes, foreign keys and the id sequence's ownership."""
    tbl, old = _quote(table), _quote(f"{table}__old")
    conn.execute(text(f"ALTER TABLE {tbl} RENAME TO {old}"))
    if shape.sequence:
        conn.execute(text(f"ALTER SEQUENCE {shape.sequence} OWNED BY NONE"))  # survives the old table
    conn.execute(text(create.format(new=tbl, old=old)))
    if before_copy:
        before_copy()
    conn.execute(text(f"INSERT INTO {tbl} SELECT * FROM {old}"))
    conn.execute(text(f"DROP TABLE {old} CASCADE"))
    if shape.sequence:
        conn.execute(text(f"ALTER SEQUENCE {shape.sequence} OWNED BY {tbl}.id"))
    conn.execute(text(f"ALTER TABLE {tbl} ADD CONSTRAINT {_quote(shape.pk_name)} PRIMARY KEY ({primary_key})"))
    for index_def in shape.index_defs:  # captured before the rename, so they name the new table
        conn.execute(text(index_def))
    for name, definition in shape.foreign_keys:
        conn.execute(text(f"ALTER TABLE {tbl} ADD CONSTRAINT {_quote(name)} {definition}"))


def convert_to_partitioned(conn: Connection, table: str, column: str, now: datetime) -> None:
    """Turn a plain table (BigInt `id` PK, indexed `column`) into a monthly partitioned one, rows kept.

    Indexes and outgoing foreign keys are recreated under their names; the id sequence is kept.
    Unique constraints other than the primary key cannot survive (they would need the partition
    key), so the conversion refuses them instead of dropping them silently.
    """
    uniques = list(
        conn.scalars(
            text("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) AND contype = 'u'"), {"t": table}
        )
    )
    if uniques:
        raise RuntimeError(f"{table}: unique constraints {uniques} cannot be kept on a partitioned table")
    shape = _shape(conn, table)
    oldest = conn.scalar(text(f"SELECT min({_quote(column)}) FROM {_quote(table)}"))

    def create_partitions() -> None:
        conn.execute(text(f"CREATE TABLE {_quote(table + '_default')} PARTITION OF {_quote(table)} DEFAULT"))
        month = max(month_start(oldest or now), add_months(month_start(now), -MONTHS_BACK_ON_CONVERT))
        while month <= add_months(month_start(now), MONTHS_AHEAD):
            create_month_partition(conn, table, column, month)
            month = add_months(month, 1)

    create = f"CREATE TABLE {{new}} (LIKE {{old}} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE ({_quote(column)})"
    _rebuild(conn, table, shape, create, f"id, {_quote(column)}", before_copy=create_partitions)


def convert_to_plain(conn: Connection, table: str) -> None:
    """The downgrade: back to one table with `id` as its primary key, rows kept."""
    _rebuild(
        conn,
        table,
        _shape(conn, table),
        "CREATE TABLE {new} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        "id",
    )

"""retention rules, purge runs, partitions

Revision ID: 0006_retention
Revises: 0005_journey

On PostgreSQL, the two event tables that grow without bound become monthly range partitions
(primary key (id, occurred_at), a default partition, the current month and three ahead): the
purge then drops expired months and creates the months ahead. SQLite keeps plain tables.
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql

from governance.retention import partitions

revision = "0006_retention"
down_revision = "0005_journey"
branch_labels = None
depends_on = None

PARTITIONED = (("tracking_events", "occurred_at"), ("journey_events", "occurred_at"))
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "retention_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("data_class", sa.String(length=64), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rules")),
        sa.UniqueConstraint("data_class", name=op.f("uq_retention_rules_data_class")),
    )
    op.create_table(
        "purge_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("finished_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("cutoffs", JSON, nullable=False),
        sa.Column("deleted", JSON, nullable=False),
        sa.Column("partitions_dropped", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_runs")),
        sa.UniqueConstraint("slot", name=op.f("uq_purge_runs_slot")),
    )
    with op.batch_alter_table("purge_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purge_runs_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_purge_runs_status"), ["status"], unique=False)

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        now = datetime.now(timezone.utc)
        for table, column in PARTITIONED:
            if partitions.table_exists(conn, table) and not partitions.is_partitioned(conn, table):
                partitions.convert_to_partitioned(conn, table, column, now)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for table, _column in PARTITIONED:
            if partitions.table_exists(conn, table) and partitions.is_partitioned(conn, table):
                partitions.convert_to_plain(conn, table)
    with op.batch_alter_table("purge_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purge_runs_status"))
        batch_op.drop_index(batch_op.f("ix_purge_runs_started_at"))
    op.drop_table("purge_runs")
    op.drop_table("retention_rules")

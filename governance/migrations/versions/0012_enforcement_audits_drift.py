"""stored audit runs, drift items, dropped violation reports

Revision ID: 0012_enforcement_audits_drift
Revises: 0011_tracking_durable_ids
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql

revision = "0012_enforcement_audits_drift"
down_revision = "0011_tracking_durable_ids"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
INSTANT = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "violation_drops",
        sa.Column("id", ID, nullable=False),
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("hour", INSTANT, nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("page_origin", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_dropped_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation_drops")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_violation_drops_dedup_key")),
    )
    with op.batch_alter_table("violation_drops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_violation_drops_hour"), ["hour"], unique=False)

    op.create_table(
        "audit_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("finished_at", INSTANT, nullable=True),
        sa.Column("urls", JSON, nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("browser", sa.String(length=128), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("pages_failed", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("drift", sa.Boolean(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("claims", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_runs")),
        sa.UniqueConstraint("slot", name=op.f("uq_audit_runs_slot")),
    )
    with op.batch_alter_table("audit_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_runs_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_runs_status"), ["status"], unique=False)

    op.create_table(
        "drift_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("sources", JSON, nullable=False),
        sa.Column("first_seen_at", INSTANT, nullable=False),
        sa.Column("last_seen_at", INSTANT, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("pages", JSON, nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("observed", JSON, nullable=True),
        sa.Column("dismissed_at", INSTANT, nullable=True),
        sa.Column("dismissed_by", sa.String(length=320), nullable=True),
        sa.Column("dismissal_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_items")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_drift_items_kind")),
    )
    with op.batch_alter_table("drift_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_items_first_seen_at"), ["first_seen_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_items_last_seen_at"), ["last_seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drift_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_items_last_seen_at"))
        batch_op.drop_index(batch_op.f("ix_drift_items_first_seen_at"))
    op.drop_table("drift_items")
    with op.batch_alter_table("audit_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_runs_status"))
        batch_op.drop_index(batch_op.f("ix_audit_runs_started_at"))
    op.drop_table("audit_runs")
    with op.batch_alter_table("violation_drops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_violation_drops_hour"))
    op.drop_table("violation_drops")

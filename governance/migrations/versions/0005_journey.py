"""first-party journey analytics

Revision ID: 0005_journey
Revises: 0004_tracking
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401

revision = "0005_journey"
down_revision = "0004_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("visitor_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("query", sa.String(length=512), nullable=True),
        sa.Column("from_path", sa.String(length=512), nullable=True),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_events")),
    )
    with op.batch_alter_table("journey_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journey_events_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_journey_events_visitor_id"), ["visitor_id"], unique=False)
        batch_op.create_index("ix_journey_events_step_occurred_at", ["step", "occurred_at"], unique=False)

    op.create_table(
        "journey_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("visitor_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("landing_path", sa.String(length=512), nullable=True),
        sa.Column("exit_path", sa.String(length=512), nullable=True),
        sa.Column("page_views", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("ft_referrer", sa.String(length=255), nullable=True),
        sa.Column("ft_source", sa.String(length=100), nullable=True),
        sa.Column("ft_medium", sa.String(length=100), nullable=True),
        sa.Column("ft_campaign", sa.String(length=100), nullable=True),
        sa.Column("ft_term", sa.String(length=100), nullable=True),
        sa.Column("ft_content", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_sessions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_journey_sessions_session_id")),
    )
    with op.batch_alter_table("journey_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journey_sessions_visitor_id"), ["visitor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journey_sessions_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_journey_sessions_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    op.drop_table("journey_sessions")
    with op.batch_alter_table("journey_events", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_events_step_occurred_at")
        batch_op.drop_index(batch_op.f("ix_journey_events_visitor_id"))
        batch_op.drop_index(batch_op.f("ix_journey_events_occurred_at"))
    op.drop_table("journey_events")

"""tracking: ids for replayed hits and journey events, recipient erasure, Message-ID lookup

Revision ID: 0011_tracking_durable_ids
Revises: 0010_audit_chain

Hits and journey events are fsynced to a local spool before they are answered and replayed into
the database from there (tracking/spool.py); each carries an id given when it was answered, and a
unique index on (id, occurred_at) makes a replay store it once (PostgreSQL requires the partition
key in a unique index on a partitioned table). Rows written before this revision keep a NULL id.
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401

revision = "0011_tracking_durable_ids"
down_revision = "0010_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tracking_events", sa.Column("hit_id", sa.Uuid(), nullable=True))
    op.create_index("uq_tracking_events_hit_id", "tracking_events", ["hit_id", "occurred_at"], unique=True)
    op.add_column("journey_events", sa.Column("event_id", sa.Uuid(), nullable=True))
    op.create_index("uq_journey_events_event_id", "journey_events", ["event_id", "occurred_at"], unique=True)
    op.add_column(
        "email_records",
        sa.Column("recipient_erased_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    )
    op.create_index("ix_email_records_message_id", "email_records", ["message_id"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_email_records_message_id", table_name="email_records")
    with op.batch_alter_table("email_records") as batch_op:
        batch_op.drop_column("recipient_erased_at")
    op.drop_index("uq_journey_events_event_id", table_name="journey_events")
    with op.batch_alter_table("journey_events") as batch_op:
        batch_op.drop_column("event_id")
    op.drop_index("uq_tracking_events_hit_id", table_name="tracking_events")
    with op.batch_alter_table("tracking_events") as batch_op:
        batch_op.drop_column("hit_id")

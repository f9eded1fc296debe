"""the audit log as a hash chain

Revision ID: 0010_audit_chain
Revises: 0009_policy_withdrawal

Each entry gets `prev_hash` and `hash` (SHA-256, see governance/core/audit/chain.py); existing entries
are chained here in id order. `audit_chain` holds the head every append locks and the checkpoint
retention leaves behind.
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from governance.core.audit.chain import canonical_details, entry_hash
from governance.core.audit.models import CHAIN_ID, GENESIS

revision = "0010_audit_chain"
down_revision = "0009_policy_withdrawal"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DATETIME = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("checkpoint_id", sa.BigInteger(), nullable=True),
        sa.Column("checkpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("checkpoint_at", DATETIME, nullable=True),
        sa.Column("purged", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    head = _chain_existing_entries()
    op.bulk_insert(
        sa.table(
            "audit_chain",
            sa.column("id", sa.BigInteger()),
            sa.column("head_hash", sa.String()),
            sa.column("checkpoint_hash", sa.String()),
            sa.column("purged", sa.BigInteger()),
        ),
        [{"id": CHAIN_ID, "head_hash": head, "checkpoint_hash": GENESIS, "purged": 0}],
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)


def _chain_existing_entries() -> str:
    log = sa.table(
        "audit_log",
        sa.column("id", sa.BigInteger()),
        sa.column("occurred_at", DATETIME),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("details", JSON),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(log).order_by(log.c.id)).mappings().all()
    previous = GENESIS
    for row in rows:
        details = canonical_details(row["details"])
        digest = entry_hash(previous, row["occurred_at"], row["actor"], row["action"], row["subject"], details)
        conn.execute(
            log.update().where(log.c.id == row["id"]).values(details=details, prev_hash=previous, hash=digest)
        )
        previous = digest
    return previous


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    op.drop_table("audit_chain")

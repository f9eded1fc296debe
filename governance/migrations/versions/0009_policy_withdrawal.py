"""policy versions can be withdrawn before they take effect

Revision ID: 0009_policy_withdrawal
Revises: 0006_retention

A withdrawn version keeps its row and number (status `withdrawn`), with who withdrew it, when and why.
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401

revision = "0009_policy_withdrawal"
down_revision = "0006_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withdrawn_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    # Withdrawn versions would come back as published ones: refuse to lose that silently.
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM policy_versions WHERE status = 'withdrawn'")).scalar():
        raise RuntimeError("withdrawn policy versions exist; a downgrade would publish them again")
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("withdrawn_at")

"""users get a session epoch: a password reset or a disabling ends the user's sessions

Revision ID: 0015_people_sessions
Revises: 0012_enforcement_audits_drift

Sessions carry the epoch they were issued in; bumping `users.session_epoch` ends every older one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_people_sessions"
down_revision = "0012_enforcement_audits_drift"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")

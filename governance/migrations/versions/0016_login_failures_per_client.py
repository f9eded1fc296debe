"""failed logins are counted per (account, client): a client key beside the email key

Revision ID: 0016_login_failures_per_client
Revises: 0015_people_sessions

Rows from before have no client key: they count for the account as a whole only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_login_failures_per_client"
down_revision = "0015_people_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_column("client_key")

"""violation log

Revision ID: 0003_enforcement
Revises: 0002_policy_docs
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401

revision = "0003_enforcement"
down_revision = "0002_policy_docs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('violations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('last_seen_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('page', sa.String(length=1024), nullable=False),
    sa.Column('user_agent', sa.String(length=512), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_violations_dedup_key'))
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violations_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_source'), ['source'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violations_source'))
        batch_op.drop_index(batch_op.f('ix_violations_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_violations_name'))

    op.drop_table('violations')

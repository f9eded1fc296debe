"""email open and click tracking

Revision ID: 0004_tracking
Revises: 0003_enforcement

Sending domains (tracking settings), recipient suppressions (keyed hashes), email records (the
tracking decision), tracked links (destinations, for reports) and tracking events. Nothing holds
a foreign key into tracking_events: 0006 turns it into monthly partitions on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql

revision = "0004_tracking"
down_revision = "0003_enforcement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tracking_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('email_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('link_index', sa.Integer(), nullable=True),
    sa.Column('client_class', sa.String(length=24), nullable=False),
    sa.Column('class_reason', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_events'))
    )
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.create_index('ix_tracking_events_email_id_occurred_at', ['email_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracking_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('sending_domains',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('account_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('name', sa.String(length=253), nullable=False),
    sa.Column('track_opens', sa.Boolean(), nullable=False),
    sa.Column('track_clicks', sa.Boolean(), nullable=False),
    sa.Column('track_text_links', sa.Boolean(), nullable=False),
    sa.Column('excluded_link_hosts', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'cockroachdb').with_variant(advanced_alchemy.types.json.ORA_JSONB(), 'oracle').with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sending_domains_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sending_domains')),
    sa.UniqueConstraint('name', name=op.f('uq_sending_domains_name'))
    )
    with op.batch_alter_table('sending_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sending_domains_account_id'), ['account_id'], unique=False)

    op.create_table('tracking_suppressions',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('account_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recipient_key', sa.String(length=64), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_tracking_suppressions_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_suppressions')),
    sa.UniqueConstraint('account_id', 'recipient_key', name=op.f('uq_tracking_suppressions_account_id'))
    )
    with op.batch_alter_table('tracking_suppressions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracking_suppressions_account_id'), ['account_id'], unique=False)

    op.create_table('email_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('domain_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('recipient_key', sa.String(length=64), nullable=True),
    sa.Column('recipient_domain_key', sa.String(length=64), nullable=True),
    sa.Column('opens_requested', sa.Boolean(), nullable=True),
    sa.Column('opens_decided', sa.Boolean(), nullable=False),
    sa.Column('opens_decided_by', sa.String(length=24), nullable=False),
    sa.Column('opens_overridden', sa.Boolean(), nullable=False),
    sa.Column('opens_active', sa.Boolean(), nullable=False),
    sa.Column('opens_stopped_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('clicks_requested', sa.Boolean(), nullable=True),
    sa.Column('clicks_decided', sa.Boolean(), nullable=False),
    sa.Column('clicks_decided_by', sa.String(length=24), nullable=False),
    sa.Column('clicks_overridden', sa.Boolean(), nullable=False),
    sa.Column('clicks_active', sa.Boolean(), nullable=False),
    sa.Column('clicks_stopped_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('link_count', sa.Integer(), nullable=False),
    sa.Column('tracking_data_purged_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_email_records_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['domain_id'], ['sending_domains.id'], name=op.f('fk_email_records_domain_id_sending_domains'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_records'))
    )
    with op.batch_alter_table('email_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_records_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_email_records_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_records_domain_id'), ['domain_id'], unique=False)

    op.create_table('tracked_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('link_index', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=8), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['email_id'], ['email_records.id'], name=op.f('fk_tracked_links_email_id_email_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_links')),
    sa.UniqueConstraint('email_id', 'link_index', name=op.f('uq_tracked_links_email_id'))
    )


def downgrade() -> None:
    op.drop_table('tracked_links')
    with op.batch_alter_table('email_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_records_domain_id'))
        batch_op.drop_index('ix_email_records_created_at')
        batch_op.drop_index(batch_op.f('ix_email_records_account_id'))

    op.drop_table('email_records')
    with op.batch_alter_table('tracking_suppressions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracking_suppressions_account_id'))

    op.drop_table('tracking_suppressions')
    with op.batch_alter_table('sending_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sending_domains_account_id'))

    op.drop_table('sending_domains')
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracking_events_occurred_at'))
        batch_op.drop_index('ix_tracking_events_email_id_occurred_at')

    op.drop_table('tracking_events')

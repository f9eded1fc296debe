"""the cookie policy as versioned data

Revision ID: 0002_policy_docs
Revises: 0001_auth
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql

revision = "0002_policy_docs"
down_revision = "0001_auth"
branch_labels = None
depends_on = None


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "policy_documents",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_documents")),
        sa.UniqueConstraint("slug", name=op.f("uq_policy_documents_slug")),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("document_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "content",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
            .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("change_summary", sa.Text(), nullable=False),
        sa.Column("material", sa.Boolean(), nullable=False),
        sa.Column("effective_from", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_updated", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("published_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=320), nullable=True),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["document_id"], ["policy_documents.id"], name=op.f("fk_policy_versions_document_id_policy_documents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_policy_versions_document_id")),
    )
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_versions_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_versions_effective_from"), ["effective_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_versions_effective_from"))
        batch_op.drop_index(batch_op.f("ix_policy_versions_document_id"))
    op.drop_table("policy_versions")
    op.drop_table("policy_documents")

"""the cookie policy as versioned data

Revision ID: 0002_policy_docs
Revises: 0001_auth
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401

revision = "0002_policy_docs"
down_revision = "0001_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

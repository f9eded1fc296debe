"""email open and click tracking

Revision ID: 0004_tracking
Revises: 0003_enforcement
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401

revision = "0004_tracking"
down_revision = "0003_enforcement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

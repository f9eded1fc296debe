"""first-party journey analytics

Revision ID: 0005_journey
Revises: 0004_tracking
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401

revision = "0005_journey"
down_revision = "0004_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

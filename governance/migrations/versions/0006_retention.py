"""retention rules, purge runs, partitions

Revision ID: 0006_retention
Revises: 0005_journey
"""

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types  # noqa: F401  (autogenerate writes advanced_alchemy.types.*)
from sqlalchemy import Text  # noqa: F401

revision = "0006_retention"
down_revision = "0005_journey"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

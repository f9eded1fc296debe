"""Imports every domain's models so the shared metadata (and Alembic) sees all tables."""

from auth import models as auth_models  # noqa: F401
from governance import audit  # noqa: F401

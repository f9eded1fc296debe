"""Imports every domain's models so the shared metadata (and Alembic) sees all tables."""

from auth import models as auth_models  # noqa: F401
from governance.core import audit  # noqa: F401
from governance.enforcement import models as enforcement_models  # noqa: F401
from governance.retention import models as retention_models  # noqa: F401
from policy_docs import models as policy_docs_models  # noqa: F401
from tracking import models as tracking_models  # noqa: F401
from tracking.journey import models as journey_models  # noqa: F401

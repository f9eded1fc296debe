"""Wires the cookie policy into the app: routes, templates, the in-process cache, seeding on startup."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from governance.core.plugin import DomainPlugin
from policy_docs import service
from policy_docs.cache import STATE_KEY, PolicyCache
from policy_docs.controllers import DraftController, PolicyApiController, PolicyPagesController, VersionAdminController
from policy_docs.notify import NOTIFIER_STATE_KEY, PolicyChanges
from policy_docs.rendering import template_config

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig

log = logging.getLogger(__name__)


class PolicyDocsPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        cache = app_config.state[STATE_KEY] = PolicyCache(self.db.get_session)
        changes = app_config.state[NOTIFIER_STATE_KEY] = PolicyChanges(self.settings, cache)
        app_config.route_handlers.extend(
            [PolicyPagesController, PolicyApiController, DraftController, VersionAdminController]
        )
        if app_config.template_config is None:
            app_config.template_config = template_config()
        app_config.on_startup.extend([self.seed_policy, changes.start])
        app_config.on_shutdown.append(changes.stop)
        return app_config

    async def seed_policy(self, app: Litestar) -> None:
        """Version 1 from the data files, on first start only (safe when instances start together)."""
        try:
            async with self.db.get_session() as session:
                if await service.seed_safely(session):
                    log.info("seeded %s version 1 from policy_docs/content", service.COOKIE_POLICY)
        except SQLAlchemyError as exc:  # e.g. migrations not applied yet: the app still starts, and says why
            log.error("could not seed the cookie policy (run `python -m governance database upgrade`): %s", exc)
        app.state[STATE_KEY].invalidate()

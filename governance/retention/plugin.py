"""Wires retention into the app: its routes, the scheduler in the app's lifespan, its commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from governance.core.plugin import DomainPlugin
from governance.retention.cli import purge_command, scheduler_command
from governance.retention.controllers import RetentionController
from governance.retention.scheduler import build_scheduler

if TYPE_CHECKING:
    from click import Group
    from litestar import Litestar
    from litestar.config.app import AppConfig

SCHEDULER_STATE_KEY = "retention_scheduler"


class RetentionPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(RetentionController)
        app_config.lifespan.append(self.scheduler_lifespan)
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(purge_command)
        cli.add_command(scheduler_command)

    @asynccontextmanager
    async def scheduler_lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Runs the scheduler beside the app unless this instance has it switched off (MS_SCHEDULER_ENABLED)."""
        if not self.settings.scheduler_enabled:
            yield
            return
        scheduler = app.state[SCHEDULER_STATE_KEY] = build_scheduler(self.db.get_engine(), self.settings)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            del app.state[SCHEDULER_STATE_KEY]

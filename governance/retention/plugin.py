"""Wires retention into the app: its routes, the scheduler in the app's lifespan, its commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from litestar.di import Provide

from governance.core.plugin import DomainPlugin
from governance.retention import service
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
        self.background = service.Background()
        app_config.dependencies["purges"] = Provide(self.purges, sync_to_thread=False)
        app_config.lifespan.extend([self.scheduler_lifespan, self.background_lifespan])
        return app_config

    def purges(self) -> service.Background:
        return self.background

    @asynccontextmanager
    async def background_lifespan(self, _: Litestar) -> AsyncIterator[None]:
        """Purges started from requests end with the app (paused runs resume on the next purge)."""
        try:
            yield
        finally:
            await self.background.close()

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(purge_command)
        cli.add_command(scheduler_command)

    @asynccontextmanager
    async def scheduler_lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Runs the scheduler beside the app unless this instance has it switched off (MS_SCHEDULER_ENABLED)."""
        if not self.settings.scheduler_enabled:
            yield
            return
        scheduler = app.state[SCHEDULER_STATE_KEY] = build_scheduler(
            self.db.get_engine(), self.settings, self.background
        )
        scheduler.start()
        try:
            yield
        finally:
            await self.background.close()  # pauses the jobs' purges; the shutdown would cancel them
            scheduler.shutdown(wait=False)
            del app.state[SCHEDULER_STATE_KEY]

"""Wires journey analytics into the app: the snippet, the public ingest and the staff report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.core.plugin import DomainPlugin
from tracking.journey.controllers import journey_routes

if TYPE_CHECKING:
    from litestar.config.app import AppConfig


class JourneyPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(journey_routes(self.settings))
        return app_config

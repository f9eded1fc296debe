"""Wires journey analytics into the app: the snippet, the public ingest (through its spool) and the staff report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.core.plugin import DomainPlugin
from tracking.events import REFUSALS
from tracking.journey import service
from tracking.journey.controllers import journey_routes
from tracking.journey.service import AcceptedBatch
from tracking.spool import Spool, spool_directory

if TYPE_CHECKING:
    from litestar.config.app import AppConfig

SPOOL_STATE_KEY = "journey_spool"


class JourneyPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        spool = Spool[AcceptedBatch](
            "journey-events",
            spool_directory(self.settings.spool_dir, self.settings.database_url, "journey-events"),
            AcceptedBatch,
            self.store,
            max_group=200,  # batches: up to 50 events each
            max_load=200,
            poison=REFUSALS,
        )
        app_config.route_handlers.extend(journey_routes(self.settings, spool))
        app_config.on_startup.append(spool.start)
        app_config.on_shutdown.append(spool.stop)
        app_config.state[SPOOL_STATE_KEY] = spool
        return app_config

    async def store(self, batches: list[AcceptedBatch]) -> int:
        async with self.db.get_session() as session, session.begin():
            return await service.store_batches(session, batches)

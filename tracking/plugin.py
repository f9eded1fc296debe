"""Wires tracking into the app: routes, the token/recipient-hash context, the hit spool's lifespan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.di import Provide

from governance.core.plugin import DomainPlugin
from tracking import classify, events
from tracking.cli import domains_group
from tracking.controllers import (
    DomainController,
    EmailController,
    RecipientController,
    SuppressionController,
    TrackingOverviewController,
)
from tracking.events import REFUSALS, Hit
from tracking.public_routes import public_routes
from tracking.service import TrackingContext
from tracking.spool import Spool, spool_directory
from tracking.spool_loader import LoadInProcess

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig

SPOOL_STATE_KEY = "tracking_spool"


class TrackingPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        context = TrackingContext.from_settings(self.settings)
        bursts = classify.BurstDetector()
        hits = Spool[Hit](
            "tracking-hits",
            spool_directory(self.settings.spool_dir, self.settings.database_url, "tracking-hits"),
            Hit,
            events.hit_recorder(self.db.get_session, bursts),
            max_group=2000,
            max_load=2000,
            poison=REFUSALS,
            load_in=LoadInProcess("tracking.events:loader_process", self.settings)
            if self.settings.spool_loader == "process"
            else None,
        )
        app_config.route_handlers.extend(
            [
                DomainController,
                TrackingOverviewController,
                EmailController,
                SuppressionController,
                RecipientController,
                *public_routes(context.signer, hits, self.settings.trusted_proxies),
            ]
        )
        app_config.dependencies["tracking_context"] = Provide(lambda: context, use_cache=True, sync_to_thread=False)
        # "many links within seconds" is remembered in the app's shared store, across batches and workers
        app_config.on_startup.extend([lambda app: bursts.use(app.stores.get(classify.BURST_STORE)), hits.start])
        app_config.on_shutdown.extend([hits.stop, context.rewriter.close])
        app_config.state[SPOOL_STATE_KEY] = hits
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(domains_group)

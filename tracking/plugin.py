"""Wires tracking into the app: routes, the token/recipient-hash context, the hit writer's lifespan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from litestar.di import Provide

from governance.core.plugin import DomainPlugin
from governance.core.writer import BatchWriter
from tracking import classify, events
from tracking.cli import domains_group
from tracking.controllers import DomainController, EmailController, SuppressionController
from tracking.events import Hit
from tracking.public_routes import public_routes
from tracking.service import TrackingContext

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig

WRITER_STATE_KEY = "tracking_writer"


class TrackingPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        context = TrackingContext.from_settings(self.settings)
        # Back-pressure, never loss: when the writer falls far behind, the routes wait for room.
        writer = BatchWriter[Hit](
            "tracking-writer",
            self.hit_recorder(),
            when_full="wait",
            max_pending=200_000,
            max_batch=2000,
            retry_delays=(0.05, 0.2, 1.0, 5.0),
        )
        app_config.route_handlers.extend(
            [
                DomainController,
                EmailController,
                SuppressionController,
                *public_routes(context.signer, writer, self.settings.trusted_proxies),
            ]
        )
        app_config.dependencies["tracking_context"] = Provide(lambda: context, use_cache=True, sync_to_thread=False)
        app_config.on_startup.append(writer.start)
        app_config.on_shutdown.append(writer.stop)
        app_config.state[WRITER_STATE_KEY] = writer
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(domains_group)

    def hit_recorder(self) -> Callable[[list[Hit]], Awaitable[int]]:
        bursts = classify.BurstDetector()  # "many links within seconds": remembered across batches

        async def record(batch: list[Hit]) -> int:
            async with self.db.get_session() as session, session.begin():
                return await events.record_hits(session, batch, bursts)

        return record

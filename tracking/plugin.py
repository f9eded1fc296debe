"""Wires tracking into the app: routes, the token/recipient-hash context, and the recorder's lifespan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from tracking.controllers import DomainController, EmailController, SuppressionController, public_routes
from tracking.recorder import EventRecorder
from tracking.service import TrackingContext

if TYPE_CHECKING:
    from litestar.config.app import AppConfig

    from governance.settings import Settings

RECORDER_STATE_KEY = "tracking_recorder"


class TrackingPlugin(InitPluginProtocol):
    """Needs `state["db_config"]` (set by the app factory): the recorder writes through the app's engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        context = TrackingContext.from_settings(self.settings)
        recorder = EventRecorder(app_config.state["db_config"].create_session_maker())
        app_config.route_handlers.extend(
            [
                DomainController,
                EmailController,
                SuppressionController,
                *public_routes(context.signer, recorder, self.settings.trusted_proxies),
            ]
        )
        app_config.dependencies["tracking_context"] = Provide(lambda: context, use_cache=True, sync_to_thread=False)
        app_config.on_startup.append(recorder.start)
        app_config.on_shutdown.append(recorder.stop)
        app_config.state[RECORDER_STATE_KEY] = recorder
        return app_config

"""Wires enforcement into the app: routes, the Set-Cookie guard as a `before_send` hook, the recorder.

`before_send` is Litestar's own hook on the outermost `send`: it sees every response message,
including those from exception handlers and middleware, so no wrapping of `asgi_handler` is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.plugins import InitPluginProtocol

from governance.enforcement.allowlist import policy_source
from governance.enforcement.controllers import EnforcementController, ViolationsController
from governance.enforcement.guard import CookieGuard
from governance.enforcement.recorder import ViolationRecorder

if TYPE_CHECKING:
    from litestar.config.app import AppConfig

    from governance.settings import Settings


class EnforcementPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        state = app_config.state
        recorder = ViolationRecorder(state["db_config"].get_session)
        guard = CookieGuard(
            policy_source(state),
            mode=self.settings.cookie_guard_mode,
            require_secure=self.settings.cookie_secure,
            on_violation=recorder.submit,
        )
        state["cookie_guard"] = guard
        state["violation_recorder"] = recorder
        app_config.route_handlers.extend([EnforcementController, ViolationsController])
        if guard.mode != "off":
            app_config.before_send.append(guard.before_send)
        app_config.on_startup.append(recorder.start)
        app_config.on_shutdown.append(recorder.stop)
        return app_config

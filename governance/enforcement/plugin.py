"""Wires enforcement into the app: routes, the cookie guard as a `before_send` hook, its writers.

`before_send` is Litestar's own hook on the outermost `send`: it sees every response message,
including those from exception handlers and middleware, so no wrapping of `asgi_handler` is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from governance.core.plugin import DomainPlugin
from governance.core.writer import BatchWriter
from governance.enforcement import guardjs, service
from governance.enforcement.allowlist import Deployment, policy_source
from governance.enforcement.cli import audit_command
from governance.enforcement.controllers import (
    DROPS_STATE_KEY,
    AuditsController,
    DriftController,
    EnforcementController,
    ViolationsController,
)
from governance.enforcement.guard import CookieGuard
from governance.enforcement.schemas import DroppedReport, ViolationReport

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig

GUARD_STATE_KEY = "cookie_guard"
WRITER_STATE_KEY = "violation_writer"
HOT_PATHS = ("/t/",)  # email tracking's pixel and redirect: no request-cookie check on them


async def warm_guard_js() -> None:
    """Minify guard.js once at startup, in a thread: the first visitor would otherwise hold the event
    loop for the ~0.2 s the minifier takes."""
    await anyio.to_thread.run_sync(guardjs.minified)


class EnforcementPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        state = app_config.state
        # Reports come from response paths: never make one wait; a full queue (database down) drops and counts.
        writer = BatchWriter[ViolationReport](
            "violation-writer", self.write_violations, when_full="drop", max_pending=10_000, max_batch=200
        )
        drops = BatchWriter[DroppedReport](
            "violation-drops-writer", self.write_dropped, when_full="drop", max_pending=10_000, max_batch=1000
        )
        guard = CookieGuard(
            policy_source(state, Deployment.of(self.settings)),
            mode=self.settings.cookie_guard_mode,
            require_secure=self.settings.cookie_secure,
            skip_request_paths=HOT_PATHS,
            on_violation=writer.put_nowait,
        )
        state[GUARD_STATE_KEY] = guard
        state[WRITER_STATE_KEY] = writer
        state[DROPS_STATE_KEY] = drops
        app_config.route_handlers.extend(
            [EnforcementController, ViolationsController, AuditsController, DriftController]
        )
        if guard.mode != "off":
            app_config.before_send.append(guard.before_send)
        app_config.on_startup.extend([writer.start, drops.start, warm_guard_js])
        app_config.on_shutdown.extend([writer.stop, drops.stop])
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(audit_command)

    async def write_violations(self, batch: list[ViolationReport]) -> int:
        async with self.db.get_session() as session, session.begin():
            return await service.record(session, batch)

    async def write_dropped(self, batch: list[DroppedReport]) -> int:
        async with self.db.get_session() as session, session.begin():
            return await service.record_dropped(session, batch)

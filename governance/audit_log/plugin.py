"""Wires the audit log's reading side into the app: its route and its commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.audit_log.cli import audit_log_group
from governance.audit_log.controllers import AuditLogController
from governance.core.plugin import DomainPlugin

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig


class AuditLogPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(AuditLogController)
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(audit_log_group)

"""Wires the evidence bundle into the app: its route and its command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.core.plugin import DomainPlugin
from governance.evidence.cli import evidence_group
from governance.evidence.controllers import EvidenceController

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig


class EvidencePlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(EvidenceController)
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(evidence_group)

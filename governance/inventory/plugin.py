"""Wires the inventory export into the app: its route and its command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.core.plugin import DomainPlugin
from governance.inventory.cli import inventory_group
from governance.inventory.controllers import InventoryController

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig


class InventoryPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(InventoryController)
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(inventory_group)

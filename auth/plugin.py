"""Wires auth into the app: the JWT-cookie/API-key authentication, its routes and its commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth.cli import api_keys_group, users_group
from auth.controllers import ApiKeyController, AuthController
from auth.security import jwt_auth
from governance.core.plugin import DomainPlugin

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig


class AuthPlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend([AuthController, ApiKeyController])
        return jwt_auth(self.settings, self.db).on_app_init(app_config)

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(users_group)
        cli.add_command(api_keys_group)

"""Wires auth into the app: the JWT-cookie/API-key authentication, its routes and its commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import HTTPRoute

from auth.cli import api_keys_group, users_group
from auth.controllers import ApiKeyController, AuthController, UserController
from auth.security import ANYONE, READS, SAFE_METHODS, WRITES, jwt_auth
from governance.core.plugin import DomainPlugin
from governance.core.problems import problems

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig
    from litestar.routes import BaseRoute


class AuthPlugin(DomainPlugin, ReceiveRoutePlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        self.auth = jwt_auth(self.settings, self.db)
        app_config.route_handlers.extend([AuthController, ApiKeyController, UserController])
        return self.auth.on_app_init(app_config)

    def receive_route(self, route: BaseRoute) -> None:
        """Each operation's security in the OpenAPI document, and the 401/403 that come with it."""
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if self.auth.is_public(handler, route.path):
                handler.security = ANYONE
                continue
            unsafe = not handler.http_methods <= SAFE_METHODS
            handler.security = WRITES if unsafe else READS
            errors = problems(401, 403) if unsafe or handler.resolve_guards() else problems(401)
            handler.responses = {**errors, **(handler.responses or {})}

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(users_group)
        cli.add_command(api_keys_group)

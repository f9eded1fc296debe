"""How every domain wires itself into the app, and what a CLI command may use of the app.

The app factory (governance/app.py) builds each domain's plugin with the settings and the
database config, the only two things a domain gets from outside. `on_app_init` adds the domain's
routes, dependencies and lifespan hooks; `on_cli_init` its commands on `python -m governance`.

CLI commands receive the app the Litestar CLI loaded (a parameter named `app`) and run their work
with `run_in_app`, on that app's settings and engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from advanced_alchemy.extensions.litestar.plugins import SQLAlchemyInitPlugin
from litestar.cli._utils import LitestarGroup  # hands commands the loaded app (as advanced-alchemy's CLI does)
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol

from governance.core.db import transaction
from governance.core.errors import DomainError

if TYPE_CHECKING:
    from click import Group
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from sqlalchemy.ext.asyncio import AsyncSession

    from governance.core.settings import Settings

T = TypeVar("T")
SETTINGS_STATE_KEY = "settings"


class DomainPlugin(InitPluginProtocol, CLIPluginProtocol):
    """A domain's wiring. Subclasses override `on_app_init` and, when they have commands, `on_cli_init`."""

    def __init__(self, settings: Settings, db: SQLAlchemyAsyncConfig) -> None:
        self.settings = settings
        self.db = db

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        return None


def settings_of(app: Litestar) -> Settings:
    return app.state[SETTINGS_STATE_KEY]  # type: ignore[no-any-return]


def database_of(app: Litestar) -> SQLAlchemyAsyncConfig:
    config = app.plugins.get(SQLAlchemyInitPlugin).config[0]
    assert isinstance(config, SQLAlchemyAsyncConfig)
    return config


def run_in_app(app: Litestar, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work(session)` in one committed transaction on the app's database (for CLI commands).
    A refused rule ends the command with its sentence and exit code 1."""
    db = database_of(app)

    async def go() -> T:
        try:
            async with transaction(db) as session:
                return await work(session)
        finally:
            await db.get_engine().dispose()  # its connections belong to this event loop

    return run_async(go)


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    """An async CLI body in its own event loop; a DomainError becomes the command's error message."""
    try:
        return asyncio.run(_call(work))
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def app_command(**attrs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A top-level command whose `app` parameter receives the app the Litestar CLI loaded
    (what Litestar's groups do for their subcommands)."""
    return LitestarGroup().command(**attrs)

"""`python -m governance users ...` and `... api-keys ...`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from litestar.cli._utils import LitestarGroup  # the group that hands its commands the loaded app
from sqlalchemy import select

from auth import service
from auth.models import Role, User
from governance.core.plugin import run_in_app

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


@click.group(cls=LitestarGroup, name="users", help="Create staff and member users.")
def users_group() -> None: ...


@users_group.command(name="create", help="Create a user; the password is prompted for, or read from stdin.")
@click.option("--email", required=True)
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role if r != Role.MACHINE])
)
@click.option("--account", default=None, help="Account name for members (created if new).")
@click.option("--if-missing", is_flag=True, help="Do nothing when the email already exists.")
def create_user(app: Litestar, email: str, roles: tuple[str, ...], account: str | None, if_missing: bool) -> None:
    password = _read_password()

    async def create(session: AsyncSession) -> str:
        if if_missing and await session.scalar(select(User.id).where(User.email == email.strip().lower())):
            return f"user {email} already exists; left as it is"
        account_id = (await service.get_or_create_account(session, account)).id if account else None
        user = await service.create_user(
            session, email=email, password=password, roles=list(roles), account_id=account_id
        )
        return f"created user {user.email} ({', '.join(user.roles)}) id={user.id}"

    click.echo(run_in_app(app, create))


@click.group(cls=LitestarGroup, name="api-keys", help="API keys for machine clients (the sending pipeline).")
def api_keys_group() -> None: ...


@api_keys_group.command(name="create", help="Create an API key for an account; prints the key once.")
@click.option("--account", required=True, help="Account name (created if new).")
@click.option("--name", default="sending pipeline")
def create_api_key(app: Litestar, account: str, name: str) -> None:
    async def create(session: AsyncSession) -> str:
        account_row = await service.get_or_create_account(session, account)
        _, key = await service.create_api_key(session, account_id=account_row.id, name=name)
        return key

    click.echo(run_in_app(app, create))
    click.echo("Store this key now: it is not shown again.", err=True)

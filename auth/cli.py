"""`python -m governance users ...` and `... api-keys ...`."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click
from advanced_alchemy.filters import LimitOffset
from litestar.cli._utils import LitestarGroup  # the group that hands its commands the loaded app
from sqlalchemy import select

from auth import people, service
from auth.models import Account, Role, User
from auth.schemas import ApiKeyView
from auth.service import Lockout
from governance.core.errors import NotFound
from governance.core.plugin import run_in_app, settings_of

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


ROLE_CHOICE = click.Choice([r.value for r in Role if r != Role.MACHINE])
CLI_ACTOR = "cli"


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


@click.group(cls=LitestarGroup, name="users", help="Staff and member users: create, list, roles, disable, passwords.")
def users_group() -> None: ...


@users_group.command(name="create", help="Create a user; the password is prompted for, or read from stdin.")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE)
@click.option("--account", default=None, help="Account name for members (created if new).")
@click.option("--if-missing", is_flag=True, help="Do nothing when the email already exists.")
def create_user(app: Litestar, email: str, roles: tuple[str, ...], account: str | None, if_missing: bool) -> None:
    password = _read_password()

    async def create(session: AsyncSession) -> str:
        if if_missing and await session.scalar(select(User.id).where(User.email == email.strip().lower())):
            return f"user {email} already exists; left as it is"
        user = await people.create_person(
            session, actor=CLI_ACTOR, email=email, password=password, roles=list(roles), account=account
        )
        return f"created user {user.email} ({', '.join(user.roles)}) id={user.id}"

    click.echo(run_in_app(app, create))


@users_group.command(name="list", help="Every user: email, roles, account, active, locked (failed-login lockout).")
def list_users(app: Litestar) -> None:
    lockout = Lockout.of(settings_of(app))

    async def listing(session: AsyncSession) -> list[people.Person]:
        found: list[people.Person] = []
        while True:
            page, total = await people.list_people(session, LimitOffset(limit=1000, offset=len(found)), lockout)
            found.extend(page)
            if not page or len(found) >= total:
                return found

    found = run_in_app(app, listing)
    click.echo("email\troles\taccount\tactive\tlocked\tcreated_at\tid")
    for p in found:
        state = "yes" if p.active else "no"
        locked = "locked" if p.locked else "-"
        account = p.account or "-"
        click.echo(f"{p.email}\t{','.join(p.roles)}\t{account}\t{state}\t{locked}\t{_when(p.created_at)}\t{p.id}")


def _change(app: Litestar, email: str, **change: object) -> None:
    async def update(session: AsyncSession) -> str:
        user = await people.find_user(session, email)
        await people.update_person(session, user, actor=CLI_ACTOR, actor_id=None, **change)  # type: ignore[arg-type]
        state = "active" if user.is_active else "disabled"
        return f"user {user.email}: {', '.join(user.roles)}; {state}"

    click.echo(run_in_app(app, update))


@users_group.command(name="disable", help="Disable a user: they cannot sign in, and their sessions end.")
@click.argument("email")
def disable_user(app: Litestar, email: str) -> None:
    _change(app, email, active=False)


@users_group.command(name="enable", help="Enable a disabled user again.")
@click.argument("email")
def enable_user(app: Litestar, email: str) -> None:
    _change(app, email, active=True)


@users_group.command(name="set-roles", help="Replace a user's roles (repeat --role).")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE)
def set_roles(app: Litestar, email: str, roles: tuple[str, ...]) -> None:
    _change(app, email, roles=list(roles))


@users_group.command(
    name="reset-password", help="Set a new password (prompted for, or read from stdin); the user's sessions end."
)
@click.argument("email")
def reset_password(app: Litestar, email: str) -> None:
    password = _read_password()

    async def reset(session: AsyncSession) -> str:
        user = await people.find_user(session, email)
        await people.reset_password(session, user, actor=CLI_ACTOR, password=password)
        return f"new password set for {user.email}; their sessions have ended"

    click.echo(run_in_app(app, reset))


@users_group.command(name="unlock", help="Lift the failed-login lockout of a user now.")
@click.argument("email")
def unlock_user(app: Litestar, email: str) -> None:
    secret = settings_of(app).jwt_secret

    async def unlock(session: AsyncSession) -> str:
        user = await people.find_user(session, email)
        await people.unlock(session, user, actor=CLI_ACTOR, secret=secret)
        return f"{user.email} can sign in again"

    click.echo(run_in_app(app, unlock))


@click.group(cls=LitestarGroup, name="api-keys", help="API keys for machine clients (the sending pipeline).")
def api_keys_group() -> None: ...


@api_keys_group.command(name="create", help="Create an API key for an account; prints the key once.")
@click.option("--account", required=True, help="Account name (created if new).")
@click.option("--name", default="sending pipeline")
def create_api_key(app: Litestar, account: str, name: str) -> None:
    async def create(session: AsyncSession) -> str:
        account_row = await service.get_or_create_account(session, account)
        _, key = await people.create_key(session, actor=CLI_ACTOR, account_id=account_row.id, name=name)
        return key

    click.echo(run_in_app(app, create))
    click.echo("Store this key now: it is not shown again.", err=True)


@api_keys_group.command(name="list", help="Every API key (never the key itself): prefix, account, name, last use.")
@click.option("--account", default=None, help="Only this account's keys (by name).")
def list_api_keys(app: Litestar, account: str | None) -> None:
    async def listing(session: AsyncSession) -> list[ApiKeyView]:
        account_id = None
        if account:
            account_id = await session.scalar(select(Account.id).where(Account.name == account))
            if account_id is None:
                raise NotFound(f"no account named {account!r}")
        return await people.list_keys(session, account_id)

    rows = run_in_app(app, listing)
    click.echo("prefix\taccount\tname\tcreated_at\tlast_used_at\trevoked_at")
    for r in rows:
        click.echo(
            f"{r.prefix}\t{r.account}\t{r.name}\t{_when(r.created_at)}\t{_when(r.last_used_at)}\t{_when(r.revoked_at)}"
        )


@api_keys_group.command(name="revoke", help="Revoke an API key by its prefix (as `api-keys list` shows it).")
@click.argument("prefix")
def revoke_api_key(app: Litestar, prefix: str) -> None:
    async def revoke(session: AsyncSession) -> str:
        row = await people.find_key(session, prefix)
        row = await people.revoke_key(session, actor=CLI_ACTOR, key_id=row.id, account_id=None)
        return f"API key {row.prefix} ({row.name}) revoked at {_when(row.revoked_at)}"

    click.echo(run_in_app(app, revoke))

"""`python -m governance domains ...`: register sending domains and set their tracking from the shell."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from litestar.cli._utils import LitestarGroup  # the group that hands its commands the loaded app

from auth import service as auth_service
from governance.core.plugin import run_in_app
from tracking import service
from tracking.schemas import DomainTracking

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


@click.group(cls=LitestarGroup, name="domains", help="Sending domains and their email tracking settings.")
def domains_group() -> None: ...


@domains_group.command(name="add", help="Register a sending domain for an account (tracking starts off).")
@click.option("--account", required=True, help="Account name (created if new).")
@click.option("--track-opens/--no-track-opens", default=False)
@click.option("--track-clicks/--no-track-clicks", default=False)
@click.option("--track-text-links/--no-track-text-links", default=False)
@click.argument("domain")
def add_domain(
    app: Litestar, account: str, domain: str, track_opens: bool, track_clicks: bool, track_text_links: bool
) -> None:
    async def add(session: AsyncSession) -> str:
        account_row = await auth_service.get_or_create_account(session, account)
        row = await service.add_domain(session, account_id=account_row.id, name=domain, actor="cli")
        tracking = DomainTracking(track_opens=track_opens, track_clicks=track_clicks, track_text_links=track_text_links)
        await service.set_domain_tracking(session, row, tracking, actor="cli")
        state = f"opens {'on' if track_opens else 'off'}, clicks {'on' if track_clicks else 'off'}"
        return f"registered {row.name} for {account} ({state})"

    click.echo(run_in_app(app, add))


@domains_group.command(name="list", help="Every registered sending domain and its tracking settings.")
def list_domains(app: Litestar) -> None:
    async def rows(session: AsyncSession) -> list[str]:
        return [
            f"{d.name}\taccount={d.account_id}\topens={d.track_opens}\tclicks={d.track_clicks}\ttext_links={d.track_text_links}"
            for d in (await service.list_domains(session, None))[0]
        ]

    for line in run_in_app(app, rows):
        click.echo(line)

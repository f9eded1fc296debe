"""`python -m governance inventory export --at ... --format ...`: the inventory from the shell."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click
import msgspec
from litestar.cli._utils import LitestarGroup  # the group that hands its commands the loaded app

from governance.core import exports
from governance.core.clock import utcnow
from governance.core.params import parse_instant
from governance.core.plugin import run_in_app, settings_of
from governance.enforcement.allowlist import Deployment
from governance.inventory import service
from policy_docs import service as policy_service

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


@click.group(cls=LitestarGroup, name="inventory", help="The cookie and storage inventory, for auditors.")
def inventory_group() -> None: ...


@inventory_group.command(name="export", help="Print the inventory in force at an instant (default: now).")
@click.option("--at", "at", default=None, help="ISO 8601 instant, e.g. 2026-05-01T00:00:00Z.")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to a file instead of stdout."
)
def export_command(app: Litestar, at: str | None, fmt: str, output: str | None) -> None:
    async def export(session: AsyncSession) -> list[dict[str, Any]]:
        instant = parse_instant(at, "--at") if at else utcnow()
        snapshot = service.in_force(await policy_service.snapshot_at(session, instant), instant)
        snapshot = Deployment.of(settings_of(app)).snapshot(snapshot)
        await service.record_export(session, "cli", snapshot, instant, fmt)
        return service.rows(snapshot)

    found = run_in_app(app, export)
    text = (
        exports.to_csv(service.COLUMNS, found)
        if fmt == "csv"
        else msgspec.json.format(msgspec.json.encode(found)).decode() + "\n"
    )
    if output:
        with open(output, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        click.echo(f"wrote {len(found)} rows to {output}", err=True)
    else:
        sys.stdout.write(text)

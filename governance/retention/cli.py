"""`python -m governance purge [--dry-run]` and `python -m governance scheduler`."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

import click

from governance.core.plugin import app_command, database_of, run_async, settings_of
from governance.retention import service
from governance.retention.registry import data_classes
from governance.retention.scheduler import audit_schedule, purge_time, run_forever

if TYPE_CHECKING:
    from litestar import Litestar


def _print_preview(previews: list[service.Preview]) -> None:
    width = max(len(p.name) for p in previews)
    click.echo(f"{'data class':<{width}}  {'older than':<25}  rows")
    for p in previews:
        click.echo(f"{p.name:<{width}}  {p.cutoff.isoformat(timespec='seconds'):<25}  {p.rows}")
    click.echo(f"{'total':<{width}}  {'':<25}  {sum(p.rows for p in previews)}")


@app_command(name="purge", help="Delete data older than its retention period, in batches, and record a purge run.")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted; deletes nothing.")
@click.option(
    "--batch-size",
    default=None,
    type=click.IntRange(min=1),
    help=f"Rows per transaction [default: sized to ~{service.SQLITE_BATCH_SECONDS * 1000:.0f} ms a batch on SQLite, "
    f"{service.BATCH_SIZE} on PostgreSQL]",
)
def purge_command(app: Litestar, dry_run: bool, batch_size: int | None) -> None:
    engine = database_of(app).get_engine()

    async def go() -> None:
        try:
            async with service.sessions(engine)() as session:
                previews = await service.preview(session)
            if dry_run:
                click.echo("Dry run: nothing is deleted. A purge now would delete:")
                _print_preview(previews)
                return
            with click.progressbar(length=sum(p.rows for p in previews), label="Purging", show_pos=True) as bar:
                run = await service.purge(
                    engine, trigger="cli", actor="cli", batch_size=batch_size, progress=lambda _, rows: bar.update(rows)
                )
            if run is None:  # only a scheduled slot can be found taken
                return
            click.echo(f"purge run {run.id}: {run.status}")
            for name in data_classes():
                if name in run.deleted:
                    click.echo(f"  {name}: {run.deleted[name]} deleted")
            if run.error:
                raise click.ClickException(run.error)
        finally:
            await engine.dispose()

    run_async(go)


@app_command(name="scheduler", help="Run only the retention scheduler (daily purge at MS_PURGE_AT_UTC) until stopped.")
def scheduler_command(app: Litestar) -> None:
    settings, engine = settings_of(app), database_of(app).get_engine()
    purge_time(settings)  # a malformed time fails here, before anything starts
    audit_schedule(settings)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_forever(engine, settings, stop)
        finally:
            await engine.dispose()

    click.echo(
        f"retention scheduler: daily purge at {settings.purge_at_utc} UTC; stop with Ctrl-C or SIGTERM", err=True
    )
    run_async(go)
    click.echo("retention scheduler stopped", err=True)

"""`python -m governance purge [--dry-run]` and `python -m governance scheduler`."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from governance.db import create_engine
from governance.retention import service
from governance.retention.registry import data_classes
from governance.retention.scheduler import purge_time, run_forever
from governance.settings import Settings


def _print_preview(previews: list[service.Preview]) -> None:
    width = max(len(p.name) for p in previews)
    click.echo(f"{'data class':<{width}}  {'older than':<25}  rows")
    for p in previews:
        click.echo(f"{p.name:<{width}}  {p.cutoff.isoformat(timespec='seconds'):<25}  {p.rows}")
    click.echo(f"{'total':<{width}}  {'':<25}  {sum(p.rows for p in previews)}")


@click.command(name="purge", help="Delete data older than its retention period, in batches, and record a purge run.")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted; deletes nothing.")
@click.option(
    "--batch-size",
    default=None,
    type=click.IntRange(min=1),
    help=f"Rows per transaction [default: {service.SQLITE_BATCH_SIZE} on SQLite, {service.BATCH_SIZE} on PostgreSQL]",
)
def purge_command(dry_run: bool, batch_size: int | None) -> None:
    settings = Settings.from_env()

    async def go() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with service.sessions(engine)() as session:
                previews = await service.preview(session)
            if dry_run:
                click.echo("Dry run: nothing is deleted. A purge now would delete:")
                _print_preview(previews)
                return
            with click.progressbar(length=sum(p.rows for p in previews), label="Purging", show_pos=True) as bar:
                run = await service.purge(
                    engine,
                    trigger="cli",
                    actor="cli",
                    batch_size=batch_size,
                    progress=lambda _name, rows: bar.update(rows),
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

    try:
        asyncio.run(go())
    except service.PurgeBusy as exc:
        raise click.ClickException(str(exc)) from exc


@click.command(
    name="scheduler", help="Run only the retention scheduler (daily purge at MS_PURGE_AT_UTC) until stopped."
)
def scheduler_command() -> None:
    settings = Settings.from_env()
    purge_time(settings)  # a malformed time fails here, before anything starts

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        engine = create_engine(settings.database_url, pool_pre_ping=True)
        try:
            await run_forever(engine, settings, stop)
        finally:
            await engine.dispose()

    click.echo(
        f"retention scheduler: daily purge at {settings.purge_at_utc} UTC; stop with Ctrl-C or SIGTERM", err=True
    )
    asyncio.run(go())
    click.echo("retention scheduler stopped", err=True)

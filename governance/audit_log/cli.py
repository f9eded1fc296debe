"""`python -m governance audit-log export|verify`: the audit log from the shell."""

from __future__ import annotations

import csv
import sys
from contextlib import nullcontext
from typing import IO, TYPE_CHECKING

import click
import msgspec
from litestar.cli._utils import LitestarGroup  # the group that hands its commands the loaded app

from governance.audit_log import service
from governance.audit_log.schemas import COLUMNS
from governance.audit_log.verify import Verification, verify
from governance.core import audit, exports
from governance.core.audit import AuditAction
from governance.core.errors import DomainError
from governance.core.params import MAX_ID, Period, parse_instant
from governance.core.plugin import run_in_app

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

INSTANT = "ISO 8601 instant or date, e.g. 2026-05-01T00:00:00Z"


@click.group(cls=LitestarGroup, name="audit-log", help="The audit log: export it, verify its hash chain.")
def audit_log_group() -> None: ...


def _period(since: str | None, until: str | None) -> Period:
    try:
        return Period(
            parse_instant(since, "--since") if since else None,
            parse_instant(until, "--until") if until else None,
        )
    except DomainError as exc:  # a malformed instant: exit 1 with its sentence, as every refused input here
        raise click.ClickException(exc.detail) from exc


@audit_log_group.command(name="export", help="Write the audit log (or a period of it), oldest first; audit-logged.")
@click.option("--since", default=None, help=f"From this instant on ({INSTANT}).")
@click.option("--until", default=None, help=f"Before this instant ({INSTANT}).")
@click.option("--actor", default=None, help="Only entries by this actor (exactly as recorded).")
@click.option(
    "--action", "actions", multiple=True, type=click.Choice([a.value for a in AuditAction]), help="Only these actions."
)
@click.option("--subject", default=None, help="Only subjects starting with this (`cookie-policy`).")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to a file instead of stdout."
)
def export_command(
    app: Litestar,
    since: str | None,
    until: str | None,
    actor: str | None,
    actions: tuple[str, ...],
    subject: str | None,
    fmt: str,
    output: str | None,
) -> None:
    filters = service.Filters(
        _period(since, until), actor=actor, actions=[AuditAction(a) for a in actions], subject=subject
    )
    write = _write_csv if fmt == "csv" else _write_json

    with open(output, "w", encoding="utf-8", newline="") if output else nullcontext(sys.stdout) as file:

        async def export(session: AsyncSession) -> int:
            rows = await write(session, filters, file)
            await audit.record(
                session,
                actor="cli",
                action=AuditAction.AUDIT_LOG_EXPORT,
                subject="audit log",
                format=fmt,
                rows=rows,
                filters=filters.described(),
            )
            return rows

        rows = run_in_app(app, export)
    if output:
        click.echo(f"wrote {rows} entries to {output}", err=True)


async def _write_csv(session: AsyncSession, filters: service.Filters, file: IO[str]) -> int:
    writer = csv.writer(file, lineterminator="\r\n")
    file.write("\ufeff")  # as every CSV export here: spreadsheets then read UTF-8
    writer.writerow(COLUMNS)
    rows = 0
    async for entry in service.stream_entries(session, filters):
        row = service.csv_row(entry)
        writer.writerow([exports.safe_cell(row[column]) for column in COLUMNS])
        rows += 1
    return rows


async def _write_json(session: AsyncSession, filters: service.Filters, file: IO[str]) -> int:
    """A JSON array, one entry per line."""
    rows = 0
    file.write("[")
    async for entry in service.stream_entries(session, filters):
        file.write(("," if rows else "") + "\n" + msgspec.json.encode(entry).decode())
        rows += 1
    file.write("\n]\n")
    return rows


@audit_log_group.command(
    name="verify",
    help="Check the hash chain: the whole log, or a range (by instants or by ids). "
    "Exit 0 when it holds; 1 naming the first entry that does not match.",
)
@click.option("--since", default=None, help=f"Check entries written from this instant on ({INSTANT}).")
@click.option("--until", default=None, help=f"... and before this instant ({INSTANT}).")
@click.option("--from-id", type=click.IntRange(1, MAX_ID), default=None, help="Check from this entry id on.")
@click.option("--to-id", type=click.IntRange(1, MAX_ID), default=None, help="... up to this entry id.")
def verify_command(app: Litestar, since: str | None, until: str | None, from_id: int | None, to_id: int | None) -> None:
    if (since or until) and (from_id or to_id):
        raise click.UsageError("give a range by instants (--since/--until) or by ids (--from-id/--to-id), not both")
    if from_id and to_id and from_id > to_id:
        raise click.UsageError("--from-id must not be after --to-id")

    async def check(session: AsyncSession) -> Verification:
        period = _period(since, until)
        return await verify(session, from_id=from_id, to_id=to_id, since=period.since, until=period.until)

    result = run_in_app(app, check)
    if not result.holds:
        raise click.ClickException(result.sentence)
    click.echo(result.sentence)

"""`python -m governance evidence export --at ISO [--since ISO] [--output FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from litestar.cli._utils import LitestarGroup  # the group that hands its commands the loaded app

from governance.core.params import parse_instant
from governance.core.plugin import run_in_app, settings_of
from governance.enforcement.allowlist import Deployment
from governance.evidence import bundle

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


@click.group(cls=LitestarGroup, name="evidence", help="Evidence bundles for auditors and regulators.")
def evidence_group() -> None: ...


@evidence_group.command(name="export", help="Write the evidence bundle (a zip) for an instant; audit-logged.")
@click.option("--at", "at", required=True, help="The instant, ISO 8601 (2026-06-01T00:00:00Z) or a date.")
@click.option("--since", default=None, help="Start of the period (default: when the version in force took effect).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="The zip to write [default: evidence-<instant>.zip here].",
)
def export_command(app: Litestar, at: str, since: str | None, output: Path | None) -> None:
    async def build(session: AsyncSession) -> bundle.Bundle:
        return await bundle.build(
            session,
            "cli",
            at=parse_instant(at, "--at"),
            since=parse_instant(since, "--since") if since else None,
            deployment=Deployment.of(settings_of(app)),
        )

    found = run_in_app(app, build)
    target = output or Path(found.filename)
    target.write_bytes(found.archive)
    click.echo(f"wrote {target} ({len(found.archive):,} bytes); manifest SHA-256 {found.manifest_sha256}")

"""The auditors' inventory: every declared cookie and storage key in force at an instant.

One row per declaration, from the policy version in force then (policy_docs' service and
cache: the same declarations the page, the allowlist and the guard use). Served as CSV or
JSON through `governance.exports`; every export goes to the audit log.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import Annotated, Any

import click
from litestar import Controller, Request, Response, get
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from auth.guards import auditors
from auth.schemas import Principal
from governance import audit, exports
from governance.db import standalone_session
from policy_docs import cache as policy_cache
from policy_docs import service as policy_service
from policy_docs.schemas import PolicySnapshot

COLUMNS = (
    "kind", "name", "match", "category", "duration_text", "duration_seconds", "duration_kind",
    "http_only", "secure", "same_site", "domain", "path", "purpose", "provider",
    "policy_version", "effective_from", "content_hash",
)  # fmt: skip


def rows(snapshot: PolicySnapshot) -> list[dict[str, Any]]:
    return [
        {
            "kind": d.kind,
            "name": d.name,
            "match": d.match,
            "category": d.category,
            "duration_text": d.duration.text,
            "duration_seconds": d.duration.seconds,
            "duration_kind": d.duration.kind,
            "http_only": d.http_only,
            "secure": d.secure,
            "same_site": d.same_site,
            "domain": d.domain,
            "path": d.path,
            "purpose": d.purpose,
            "provider": d.provider,
            "policy_version": snapshot.number,
            "effective_from": snapshot.effective_from.isoformat(),
            "content_hash": snapshot.content_hash,
        }
        for d in snapshot.declarations
    ]


async def record_export(session: AsyncSession, actor: str, snapshot: PolicySnapshot, at: datetime, fmt: str) -> None:
    await audit.record(
        session, actor=actor, action="inventory.export", subject=f"{snapshot.document} v{snapshot.number}",
        at=at.isoformat(), format=fmt, rows=len(snapshot.declarations), content_hash=snapshot.content_hash,
    )  # fmt: skip


def filename(snapshot: PolicySnapshot, at: datetime) -> str:
    return f"cookie-inventory-{at:%Y%m%dT%H%M%SZ}-v{snapshot.number}"


class InventoryController(Controller):
    path = "/api/inventory"
    tags = ["inventory"]
    guards = [auditors]

    @get("/", summary="Declared cookies and storage keys in force at an instant, as CSV or JSON")
    async def export(
        self,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        at: Annotated[str | None, QueryParameter(description="ISO 8601 instant (default: now)")] = None,
        fmt: Annotated[str, QueryParameter(name="format", description="csv or json")] = "json",
    ) -> Response:
        fmt = exports.check_format(fmt)
        try:
            instant = policy_service.parse_instant(at) if at else policy_service.now()
        except ValueError as exc:
            raise ClientException(f"at: {exc}") from None
        snapshot = await policy_cache.at(request.app.state, instant)
        if snapshot is None:
            raise NotFoundException(f"no version of the cookie policy was in force at {instant.isoformat()}")
        await record_export(db_session, request.user.label, snapshot, instant, fmt)
        return exports.export_response(fmt, COLUMNS, rows(snapshot), filename(snapshot, instant))


# --- CLI: python -m governance inventory export --at ... --format ... ----------------------------


@click.group(name="inventory", help="The cookie and storage inventory, for auditors.")
def inventory_group() -> None: ...


@inventory_group.command(name="export", help="Print the inventory in force at an instant (default: now).")
@click.option("--at", "at", default=None, help="ISO 8601 instant, e.g. 2026-05-01T00:00:00Z.")
@click.option("--format", "fmt", default="csv", show_default=True, help="csv or json.")
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to a file instead of stdout."
)
def export_command(at: str | None, fmt: str, output: str | None) -> None:
    import msgspec

    from governance.settings import Settings

    if fmt not in exports.FORMATS:
        raise click.BadParameter(f"must be one of {', '.join(exports.FORMATS)}, not {fmt!r}", param_hint="--format")
    try:
        instant = policy_service.parse_instant(at) if at else policy_service.now()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    settings = Settings.from_env()

    async def export() -> list[dict[str, Any]] | None:
        async with standalone_session(settings.database_url) as session:
            snapshot = await policy_service.snapshot_at(session, instant)
            if snapshot is None:
                return None
            await record_export(session, "cli", snapshot, instant, fmt)
            return rows(snapshot)

    found = asyncio.run(export())
    if found is None:
        raise click.ClickException(f"no version of the cookie policy was in force at {instant.isoformat()}")
    text = (
        exports.to_csv(COLUMNS, found)
        if fmt == "csv"
        else msgspec.json.format(msgspec.json.encode(found)).decode() + "\n"
    )
    if output:
        with open(output, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        click.echo(f"wrote {len(found)} rows to {output}", err=True)
    else:
        sys.stdout.write(text)

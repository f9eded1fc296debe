"""`GET /api/inventory?at=&format=`: the inventory in force at an instant, as JSON or CSV. Thin."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get

from auth.guards import auditors, not_cross_site
from auth.schemas import AuthRequest
from governance.core import exports
from governance.core.clock import utcnow
from governance.core.params import AppSettings, AtParam, DbSession, ExportFormat, parse_instant
from governance.core.problems import problems
from governance.enforcement.allowlist import Deployment
from governance.inventory import service
from governance.inventory.schemas import InventoryRow
from policy_docs import cache as policy_cache


class InventoryController(Controller):
    path = "/api/inventory"
    tags = ["inventory"]
    guards = [auditors, not_cross_site]  # its exports write the audit log

    @get(
        "/",
        summary="Declared cookies and storage keys in force at an instant, as JSON or CSV",
        description=(
            "One row per declaration of the version in force at `at` (default: now) that applies to this "
            "deployment (the token-in-body key only when that mode is on). Audit-logged."
        ),
        responses={**exports.export_spec(list[InventoryRow]), **problems(404)},
    )
    async def export(
        self,
        request: AuthRequest,
        db_session: DbSession,
        settings: AppSettings,
        at: AtParam = None,
        format: ExportFormat = "json",
    ) -> Response[Any]:
        instant = parse_instant(at, "at") if at else utcnow()
        snapshot = service.in_force(await policy_cache.at(request.app.state, instant), instant)
        snapshot = Deployment.of(settings).snapshot(snapshot)  # conditional items only where their mode is on
        await service.record_export(db_session, request.user.label, snapshot, instant, format)
        return exports.export_response(
            format, service.COLUMNS, service.rows(snapshot), service.filename(snapshot, instant)
        )

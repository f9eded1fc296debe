"""`GET /api/audit`: the audit log for auditors, filtered and paginated, or as a CSV download. Thin."""

from __future__ import annotations

from typing import Annotated, Any

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Response, get
from litestar.params import QueryParameter

from auth.guards import auditors, not_cross_site
from auth.schemas import AuthRequest
from governance.audit_log import service
from governance.audit_log.schemas import COLUMNS, AuditEntryView
from governance.core import audit, exports
from governance.core.audit import AuditAction
from governance.core.params import DbSession, ExportFormat, PageParam, PeriodParam
from governance.core.problems import problems

NO_NUL = r"^[^\x00]*$"
ActorParam = Annotated[
    str | None, QueryParameter(max_length=320, pattern=NO_NUL, description="Who did it, exactly as recorded")
]
ActionParam = Annotated[
    list[AuditAction] | None, QueryParameter(description="What was done (repeat for any of several)")
]
SubjectParam = Annotated[
    str | None,
    QueryParameter(max_length=255, pattern=NO_NUL, description="What it was done to: a prefix (`cookie-policy`)"),
]


class AuditLogController(Controller):
    path = "/api/audit"
    tags = ["audit log"]
    guards = [auditors, not_cross_site]  # its exports write the audit log

    @get(
        "/",
        summary="The audit log, newest first, filtered",
        description="Filters: `actor` (exact), `action` (repeatable; the AuditAction values), `subject` (a prefix), "
        "`since`/`until`. Each entry carries `prev_hash` and `hash` (the chain: `python -m governance audit-log verify`). "
        "`format=csv` downloads every matching entry oldest first (up to 100,000, else a 422 asking for a shorter "
        "period) and is itself audit-logged.",
        responses={**exports.export_spec(OffsetPagination[AuditEntryView]), **problems(400, 422)},
    )
    async def list_entries(
        self,
        request: AuthRequest,
        db_session: DbSession,
        page: PageParam,
        period: PeriodParam,
        format: ExportFormat = "json",
        actor: ActorParam = None,
        action: ActionParam = None,
        subject: SubjectParam = None,
    ) -> Response[Any]:
        filters = service.Filters(period, actor=actor, actions=action or (), subject=subject)
        if format == "json":
            found, total = await service.page_of_entries(db_session, page, filters)
            return Response(OffsetPagination(items=found, limit=page.limit, offset=page.offset, total=total))
        rows = [service.csv_row(entry) for entry in await service.entries_for_export(db_session, filters)]
        await audit.record(
            db_session,
            actor=request.user.label,
            action=AuditAction.AUDIT_LOG_EXPORT,
            subject="audit log",
            format="csv",
            rows=len(rows),
            filters=filters.described(),
        )
        return exports.export_response("csv", COLUMNS, rows, "audit-log")

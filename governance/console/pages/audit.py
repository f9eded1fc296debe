"""Audit log: filtered by actor, action, subject and time, paginated, with the API's CSV export as a download."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from advanced_alchemy.filters import LimitOffset
from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from governance.audit_log import service
from governance.console import forms, web
from governance.core.audit import AuditAction
from governance.core.errors import DomainError, FieldError
from governance.core.params import DbSession, Period

PAGE = 50
Text = Annotated[str | None, QueryParameter(max_length=320, pattern=r"^[^\x00]*$")]
Instant = Annotated[str | None, QueryParameter(max_length=64)]


class AuditPages(Controller):
    path = "/audit"
    guards = [web.readers]

    @get("/", summary="The audit log, filtered and paginated")
    async def audit_log(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        actor: Text = None,
        action: Annotated[AuditAction | None, QueryParameter()] = None,
        subject: Text = None,
        since: Instant = None,
        until: Instant = None,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        errors: list[FieldError] = []
        period = Period(None, None)
        try:
            period = Period(
                forms.utc_instant(since, "since") if since else None,
                forms.utc_instant(until, "until") if until else None,
            )
        except DomainError as exc:
            errors = exc.errors
        filters = service.Filters(
            period, actor=actor or None, actions=[action] if action else (), subject=subject or None
        )
        entries, total = (
            ([], 0) if errors else await service.page_of_entries(db_session, LimitOffset(PAGE, offset), filters)
        )
        chosen = {
            "actor": actor or "",
            "action": action.value if action else "",
            "subject": subject or "",
            "since": period.since.isoformat() if period.since else "",
            "until": period.until.isoformat() if period.until else "",
        }
        kept = {k: v for k, v in chosen.items() if v}
        return web.page(
            request,
            "console/audit.html.j2",
            active="audit",
            status_code=422 if errors else 200,
            entries=entries,
            total=total,
            offset=offset,
            limit=PAGE,
            actions=list(AuditAction),
            form={
                "actor": actor or "",
                "action": chosen["action"],
                "subject": subject or "",
                "since": forms.local_input(period.since) if not errors else since or "",
                "until": forms.local_input(period.until) if not errors else until or "",
            },
            errors=web.field_errors(errors),
            page_href=lambda to: f"{web.PREFIX}/audit?{urlencode({**kept, 'offset': to})}",
            csv_href="/api/audit?" + urlencode({**kept, "format": "csv"}),
        )

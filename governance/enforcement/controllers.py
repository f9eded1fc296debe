"""Enforcement routes: the allowlist and guard.js for other apps and pages, violation reports and their log."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Request, Response, get, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from auth.guards import auditors
from auth.schemas import AuthRequest
from governance.core import audit, exports
from governance.core.errors import BadRequest, NotFound
from governance.core.params import AppSettings, DbSession, ExportFormat, PageParam, PeriodParam
from governance.core.problems import problems
from governance.core.responses import CachedDocument, ReadyResponse
from governance.core.schemas import views
from governance.core.settings import Settings
from governance.enforcement import guardjs, service
from governance.enforcement.allowlist import Allowlist
from governance.enforcement.schemas import (
    VIOLATION_COLUMNS,
    BrowserReport,
    ReportKind,
    Source,
    ViolationReport,
    ViolationView,
)

MAX_REPORT_BYTES = 4096
MAX_EXPORT_ROWS = 100_000
# Per client address, in its own store so its counter is shared with no other route.
REPORTS_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 120), store="violation_reports_rate_limit")
PUBLIC_HEADERS = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}


async def current_allowlist(request: Request[Any, Any, Any]) -> Allowlist | None:
    allowlist: Allowlist | None = await request.app.state["cookie_guard"].source()
    return allowlist


def allowlist_document(allowlist: Allowlist, settings: Settings) -> dict[str, Any]:
    """The declarations in force, compact: unset attributes are left out."""
    doc: dict[str, Any] = {
        "policy_version": allowlist.number,
        "content_hash": allowlist.content_hash,
        "mode": settings.cookie_guard_mode,
        "require_secure": settings.cookie_secure,
        "cookie": [],
        "local_storage": [],
        "session_storage": [],
    }
    for d in allowlist.declarations:
        item = {
            "name": d.name,
            "match": d.match,
            "duration": d.duration.kind,
            "max_age": d.duration.seconds,
            "http_only": d.http_only,
            "secure": d.secure,
            "same_site": d.same_site,
            "domain": d.domain,
            "path": d.path,
        }  # format: skip
        doc[d.kind].append({k: v for k, v in item.items() if v is not None})
    return doc


class EnforcementController(Controller):
    path = "/governance"
    tags = ["enforcement"]

    @get(
        "/allowlist.json",
        exclude_from_auth=True,
        summary="The declarations in force, for other apps' guards and proxies",
        responses=problems(404),
    )
    async def allowlist(self, request: Request[Any, Any, Any], settings: AppSettings) -> ReadyResponse:
        allowlist = await current_allowlist(request)
        if allowlist is None:
            raise NotFound("no cookie policy is in force yet")
        body = msgspec.json.encode(allowlist_document(allowlist, settings))
        return CachedDocument.of(body, "application/json", PUBLIC_HEADERS).respond(request.scope)

    @get("/guard.js", exclude_from_auth=True, summary="The browser storage guard: load it first on every page")
    async def guard_js(self, request: Request[Any, Any, Any], settings: AppSettings) -> ReadyResponse:
        allowlist = await current_allowlist(request)
        mode = settings.cookie_guard_mode if allowlist is not None else "off"
        version = allowlist.number if allowlist is not None else None
        script = guardjs.render(
            allowlist.declarations if allowlist else (),
            mode=mode,
            version=version,
            require_secure=settings.cookie_secure,
        )
        return CachedDocument.of(script.encode(), "text/javascript; charset=utf-8", PUBLIC_HEADERS).respond(
            request.scope
        )

    @post(
        "/violations",
        exclude_from_auth=True,
        status_code=HTTP_204_NO_CONTENT,
        request_max_body_size=MAX_REPORT_BYTES,
        middleware=[REPORTS_RATE_LIMIT.middleware],
        summary="A browser guard's report (sent with sendBeacon as text/plain; names only, never values)",
        description="The body is a JSON object sent as `text/plain` (a simple request: no CORS preflight).",
        responses=problems(413, 429),
    )
    async def report(self, request: Request[Any, Any, Any], db_session: DbSession) -> None:
        sent = _browser_report(await request.body())
        allowlist = await current_allowlist(request)
        report = ViolationReport(
            source="browser",
            kind=sent.kind,
            name=sent.name,
            reason=sent.reason,
            mode=sent.mode,
            page=service.page_without_query(sent.page),
            user_agent=sent.user_agent or request.headers.get("user-agent", "")[:512],
            policy_version=allowlist.number if allowlist else None,
        )
        await service.record(db_session, [report])


def _browser_report(body: bytes) -> BrowserReport:
    try:
        return msgspec.json.decode(body, type=BrowserReport)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid violation report: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadRequest("a violation report is a JSON object") from exc


class ViolationsController(Controller):
    path = "/api/violations"
    tags = ["enforcement"]
    guards = [auditors]

    @get(
        "/",
        summary="The violation log, most recently seen first",
        description="`format=csv` downloads every matching row (up to 100,000; audit-logged) instead of one page.",
        responses=exports.export_spec(OffsetPagination[ViolationView]),
    )
    async def list_violations(
        self,
        request: AuthRequest,
        db_session: DbSession,
        page: PageParam,
        period: PeriodParam,
        format: ExportFormat = "json",
        source: Annotated[Source | None, QueryParameter(description="Who saw it")] = None,
        kind: Annotated[ReportKind | None, QueryParameter(description="Cookie, storage, or a browser API")] = None,
        name: Annotated[str | None, QueryParameter(max_length=255, description="The cookie or key name")] = None,
        reason: Annotated[str | None, QueryParameter(max_length=32, description="e.g. undeclared, http_only")] = None,
    ) -> Response[Any]:
        window = page if format == "json" else LimitOffset(limit=MAX_EXPORT_ROWS, offset=0)
        rows, total = await service.page_of_violations(
            db_session, window, period, source=source, kind=kind, name=name, reason=reason
        )
        found = views(ViolationView, rows)
        if format == "json":
            return Response(OffsetPagination(items=found, limit=page.limit, offset=page.offset, total=total))
        await audit.record(
            db_session, actor=request.user.label, action="violations.export", subject="violation log", rows=len(found)
        )
        return exports.export_response(
            "csv", VIOLATION_COLUMNS, [msgspec.structs.asdict(v) for v in found], "violations"
        )

"""Enforcement routes: the allowlist and guard.js for other apps and pages, violation reports and
their log (with what the intake dropped), stored audit runs, and drift. Thin: rules are in the services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from auth.guards import auditors, not_cross_site, privacy_staff
from auth.schemas import AuthRequest
from governance.core import audit, exports
from governance.core.errors import BadRequest, NotFound
from governance.core.params import AppSettings, DbSession, ExportFormat, PageParam, PeriodParam, RowId
from governance.core.problems import problems
from governance.core.proxies import client_of
from governance.core.requests import decode_bounded
from governance.core.responses import CachedDocument, ReadyResponse
from governance.core.schemas import views
from governance.core.settings import Settings
from governance.enforcement import audits, drift, guardjs, intake, service
from governance.enforcement.allowlist import Allowlist
from governance.enforcement.schemas import (
    VIOLATION_COLUMNS,
    AllowlistDocument,
    AllowlistEntry,
    AuditRunDetail,
    AuditRunSummary,
    AuditStatus,
    BrowserReport,
    DriftDismissal,
    DriftItemView,
    DriftSource,
    DriftStatus,
    DroppedReportsView,
    ReportKind,
    Source,
    ViolationReport,
    ViolationView,
)
from policy_docs.controllers import draft_view
from policy_docs.schemas import DraftView

MAX_REPORT_BYTES = 4096
MAX_EXPORT_ROWS = 100_000
DROPS_STATE_KEY = "violation_drops_writer"
PUBLIC_HEADERS = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}


async def current_allowlist(request: Request[Any, Any, Any]) -> Allowlist | None:
    allowlist: Allowlist | None = await request.app.state["cookie_guard"].source()
    return allowlist


def allowlist_document(allowlist: Allowlist, settings: Settings) -> AllowlistDocument:
    """The declarations in force, compact: unset attributes are left out."""
    kinds: dict[str, list[AllowlistEntry]] = {"cookie": [], "local_storage": [], "session_storage": []}
    for d in allowlist.declarations:
        kinds[d.kind].append(
            AllowlistEntry(
                name=d.name, match=d.match, duration=d.duration.kind, max_age=d.duration.seconds,
                http_only=d.http_only, secure=d.secure, same_site=d.same_site, domain=d.domain, path=d.path,
            )
        )  # fmt: skip
    return AllowlistDocument(
        policy_version=allowlist.number,
        content_hash=allowlist.content_hash,
        mode=settings.cookie_guard_mode,
        require_secure=settings.cookie_secure,
        **kinds,
    )


class EnforcementController(Controller):
    path = "/governance"
    tags = ["enforcement"]

    @get(
        "/allowlist.json",
        exclude_from_auth=True,
        summary="The declarations in force, for other apps' guards and proxies",
        responses={200: ResponseSpec(AllowlistDocument, description="The allowlist (ETag; 304 on If-None-Match)")}
        | problems(404),
    )
    async def allowlist(self, request: Request[Any, Any, Any], settings: AppSettings) -> ReadyResponse:
        """The cookie and storage declarations of the version in force, as the browser guard and any
        reverse proxy read them: names, match rule, kind and the attributes a cookie must have. Cached with
        an ETag; 304 on `If-None-Match`."""
        allowlist = await current_allowlist(request)
        if allowlist is None:
            raise NotFound("no cookie policy is in force yet")
        body = msgspec.json.encode(allowlist_document(allowlist, settings))
        return CachedDocument.of(body, "application/json", PUBLIC_HEADERS).respond(request.scope)

    @get(
        "/guard.js",
        exclude_from_auth=True,
        summary="The browser storage guard: load it first on every page",
        responses={
            200: ResponseSpec(
                str,
                description="JavaScript (ETag; 304 on If-None-Match)",
                media_type="text/javascript",
                generate_examples=False,
            )
        },
    )
    async def guard_js(self, request: Request[Any, Any, Any], settings: AppSettings) -> ReadyResponse:
        """JavaScript that enforces (or, in report mode, reports) the declarations in force on every write
        path of cookies and Web Storage; served with an ETag. With no policy in force it loads in `off` mode."""
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
        summary="A browser guard's report (sent with sendBeacon as text/plain; names only, never values)",
        description=(
            "The body is a JSON object sent as `text/plain` (a simple request: no CORS preflight). Limits, per "
            f"minute: {intake.PER_ITEM} reports of one (page origin, kind, name), whoever sends them, then "
            f"{intake.PER_CLIENT} per client; a refused report is a 429 and is counted "
            "(`GET /api/violations/dropped`)."
        ),
        responses=problems(400, 413, 429),
    )
    async def report(self, request: Request[Any, Any, Any], db_session: DbSession) -> None:
        sent = _browser_report(await request.body())
        client = client_of(request)
        await intake.admit(
            intake.ReportLimits(request.app.stores.get(intake.STORE_NAME)),
            request.app.state[DROPS_STATE_KEY].put_nowait,
            client=client or "",
            page=sent.page,
            kind=sent.kind,
            name=sent.name,
        )
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
        # decoded, then bounded like every JSON body (a typed decode would skip deep unknown fields)
        return msgspec.convert(decode_bounded(lambda: msgspec.json.decode(body)), BrowserReport)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid violation report: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadRequest("a violation report is a JSON object") from exc


class ViolationsController(Controller):
    path = "/api/violations"
    tags = ["enforcement"]
    guards = [auditors, not_cross_site]  # its export writes the audit log

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

    @get(
        "/dropped",
        summary="Browser reports the intake refused, counted per hour",
        description=(
            "Rule `item`: one page origin repeated one report past its limit (its origin, kind and name are "
            "given); rule `client`: one client sent more than its limit (only the count is kept). A period "
            "keeps the hours that start in it."
        ),
    )
    async def dropped(
        self, db_session: DbSession, page: PageParam, period: PeriodParam
    ) -> OffsetPagination[DroppedReportsView]:
        rows, total = await service.page_of_dropped(db_session, page, period)
        return OffsetPagination(
            items=views(DroppedReportsView, rows), limit=page.limit, offset=page.offset, total=total
        )


class AuditsController(Controller):
    path = "/api/audits"
    tags = ["enforcement: live-site audits"]
    guards = [auditors]

    @get(
        "/",
        summary="Stored live-site audit runs, newest first",
        description=(
            "Scheduled runs (MS_AUDIT_URLS) and CLI runs stored with `--store`. Each says how it went (`running`, "
            "`finished`, `failed` with its error), what it found, and how many of the policy's claims held, broke, "
            "could not be observed, or are not machine-checkable yet (`manual`). A period keeps the runs started in it."
        ),
    )
    async def list_runs(
        self,
        db_session: DbSession,
        page: PageParam,
        period: PeriodParam,
        status: Annotated[AuditStatus | None, QueryParameter(description="running, finished or failed")] = None,
    ) -> OffsetPagination[AuditRunSummary]:
        runs, total = await audits.page_of_runs(db_session, page, period, status)
        return OffsetPagination(items=runs, limit=page.limit, offset=page.offset, total=total)

    @get(
        "/{run_id:int}",
        summary="One stored audit run: pages, findings, and its claims by status",
        description="`claims` groups the policy's claims: `held`, `broken`, `not_observed`, `manual` (not machine-checkable yet).",
        responses=problems(404),
    )
    async def get_run(self, db_session: DbSession, run_id: RowId) -> AuditRunDetail:
        return await audits.one_run(db_session, run_id)


class DriftController(Controller):
    path = "/api/drift"
    tags = ["enforcement: drift"]
    guards = [auditors]

    @get(
        "/",
        summary="Every undeclared or mis-declared item seen, whatever saw it",
        description=(
            "One item per (kind, name), from the Set-Cookie guard (`server`), cookies arriving with requests "
            "(`request`), browser reports (`browser`) and stored audits (`audit`), most recently seen first. "
            "`status` defaults to `open`: a dismissed item is open again once it is seen after its dismissal. "
            "A period keeps the items seen during it."
        ),
    )
    async def list_drift(
        self,
        db_session: DbSession,
        page: PageParam,
        period: PeriodParam,
        status: Annotated[
            Literal["open", "dismissed", "all"], QueryParameter(description="open (default), dismissed or all")
        ] = "open",
        kind: Annotated[str | None, QueryParameter(max_length=32, description="cookie, local_storage, ...")] = None,
        source: Annotated[DriftSource | None, QueryParameter(description="Who saw it")] = None,
        name: Annotated[str | None, QueryParameter(max_length=255, description="The item's name")] = None,
    ) -> OffsetPagination[DriftItemView]:
        chosen: DriftStatus | None = None if status == "all" else status
        items, total = await drift.page_of_drift(
            db_session, page, period, kind=kind, source=source, status=chosen, name=name
        )
        return OffsetPagination(items=items, limit=page.limit, offset=page.offset, total=total)

    @get("/{item_id:int}", summary="One drift item", responses=problems(404))
    async def get_item(self, db_session: DbSession, item_id: RowId) -> DriftItemView:
        """Everything known about one undeclared or mis-declared item: sources, first and last seen, count,
        pages, status and the drafts that declare it."""
        return await drift.item(db_session, item_id)

    @post(
        "/{item_id:int}/dismiss",
        guards=[privacy_staff],
        status_code=HTTP_200_OK,
        summary="Dismiss an item, with a reason (audited)",
        description="It leaves open drift until it is seen again after now. An item already dismissed is a 409.",
        responses=problems(404, 409, 422),
    )
    async def dismiss(
        self, request: AuthRequest, db_session: DbSession, item_id: RowId, data: JSONBody[DriftDismissal]
    ) -> DriftItemView:
        return await drift.dismiss(db_session, item_id, reason=data.reason, actor=request.user.label)

    @post(
        "/{item_id:int}/draft",
        guards=[privacy_staff],
        status_code=HTTP_201_CREATED,
        summary="Start a policy draft that declares the item as it was observed (audited)",
        description=(
            "A draft from the latest published version with the item declared (or, when mis-declared, its "
            "declaration changed) from what was observed: kind, name, cookie attributes and lifetime. The purpose "
            "is left for staff to write: the draft's `problems` list what is missing before it can be published. "
            "Items that are not cookies or storage keys (IndexedDB, caches, service workers) are a 422."
        ),
        responses=problems(404, 422),
    )
    async def draft(self, request: AuthRequest, db_session: DbSession, item_id: RowId) -> DraftView:
        return draft_view(await drift.draft_declaring(db_session, item_id, actor=request.user.label))

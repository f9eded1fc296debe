"""Enforcement routes: the allowlist and guard.js for other apps and pages, violation reports and their log."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import Parameter, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession

from auth.guards import auditors
from auth.schemas import Principal
from governance import audit, exports
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
from governance.settings import Settings

MAX_REPORT_BYTES = 4096
# Per client address, in its own store so its counter is shared with no other route.
REPORTS_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 120), store="violation_reports_rate_limit")
PUBLIC_CACHE = "public, max-age=60"


async def current_allowlist(request: Request) -> Allowlist | None:
    return await request.app.state["cookie_guard"].source()


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _cached(request: Request, body: bytes, media_type: str) -> Response[bytes]:
    """A public, cacheable document: 304 when the client already holds this exact body."""
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": PUBLIC_CACHE, "X-Content-Type-Options": "nosniff"}
    sent = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in sent or "*" in sent:
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


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
            "name": d.name, "match": d.match, "duration": d.duration.kind, "max_age": d.duration.seconds,
            "http_only": d.http_only, "secure": d.secure, "same_site": d.same_site, "domain": d.domain, "path": d.path,
        }  # fmt: skip
        doc[d.kind].append({k: v for k, v in item.items() if v is not None})
    return doc


class EnforcementController(Controller):
    path = "/governance"
    tags = ["enforcement"]

    @get(
        "/allowlist.json",
        exclude_from_auth=True,
        summary="The declarations in force, for other apps' guards and proxies",
    )
    async def allowlist(self, request: Request, settings: Settings) -> Response[bytes]:
        allowlist = await current_allowlist(request)
        if allowlist is None:
            raise NotFoundException("no cookie policy is in force yet")
        return _cached(request, msgspec.json.encode(allowlist_document(allowlist, settings)), "application/json")

    @get("/guard.js", exclude_from_auth=True, summary="The browser storage guard: load it first on every page")
    async def guard_js(self, request: Request, settings: Settings) -> Response[bytes]:
        allowlist = await current_allowlist(request)
        mode = settings.cookie_guard_mode if allowlist is not None else "off"
        script = guardjs.render(
            allowlist.declarations if allowlist else (),
            mode=mode,
            version=allowlist and allowlist.number,
            require_secure=settings.cookie_secure,
        )
        return _cached(request, script.encode(), "application/javascript; charset=utf-8")

    @post(
        "/violations",
        exclude_from_auth=True,
        status_code=HTTP_204_NO_CONTENT,
        request_max_body_size=MAX_REPORT_BYTES,
        middleware=[REPORTS_RATE_LIMIT.middleware],
        summary="A browser guard's report (sent with sendBeacon as text/plain; names only, never values)",
    )
    async def report(self, request: Request, db_session: AsyncSession) -> None:
        try:
            sent = msgspec.json.decode(await request.body(), type=BrowserReport)
        except msgspec.ValidationError as exc:
            raise ClientException(f"invalid violation report: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise ClientException("a violation report is a JSON object") from exc
        allowlist = await current_allowlist(request)
        await service.record(
            db_session,
            [
                ViolationReport(
                    source="browser",
                    kind=sent.kind,
                    name=sent.name,
                    reason=sent.reason,
                    mode=sent.mode,
                    page=service.page_without_query(sent.page),
                    user_agent=sent.user_agent or request.headers.get("user-agent", "")[:512],
                    policy_version=allowlist.number if allowlist else None,
                )
            ],
        )


class ViolationsController(Controller):
    path = "/api/violations"
    tags = ["enforcement"]
    guards = [auditors]

    @get("/", summary="The violation log, newest first; `format=csv` downloads it")
    async def list_violations(
        self,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        source: Source | None = None,
        kind: ReportKind | None = None,
        name: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Parameter(ge=1, le=10_000)] = 500,
        offset: Annotated[int, Parameter(ge=0)] = 0,
        fmt: Annotated[str, QueryParameter(name="format")] = "json",
    ) -> Response:
        exports.check_format(fmt)
        rows = await service.list_violations(
            db_session,
            source=source,
            kind=kind,
            name=name,
            reason=reason,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        views = [msgspec.structs.asdict(_view(row)) for row in rows]
        if fmt == "csv":
            await audit.record(
                db_session,
                actor=request.user.label,
                action="violations.export",
                subject="violation log",
                rows=len(views),
            )
        return exports.export_response(fmt, VIOLATION_COLUMNS, views, "violations")


def _view(row: Any) -> ViolationView:
    return ViolationView(**{field: getattr(row, field) for field in VIOLATION_COLUMNS})

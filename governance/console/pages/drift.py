"""Drift: undeclared or mis-declared names anything has seen, grouped by name; declare one, or dismiss it.

The same service as `GET /api/drift`, `POST /api/drift/{id}/dismiss` and `POST /api/drift/{id}/draft`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from advanced_alchemy.filters import LimitOffset
from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from governance.console import forms, web
from governance.core.errors import Invalid
from governance.core.params import DbSession, Period
from governance.enforcement import drift

PAGE = 50
Status = Literal["open", "dismissed", "all"]


class DriftPages(Controller):
    path = "/drift"
    guards = [web.readers]

    @get("/", summary="Drift, grouped by name")
    async def list_drift(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        status: Annotated[Status, QueryParameter()] = "open",
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        return await self._page(request, db_session, status, offset)

    @post("/{item_id:int}/dismiss", status_code=200, guards=[web.editors], summary="Dismiss a drift item")
    async def dismiss(
        self, request: HTMXRequest, db_session: DbSession, item_id: FromPath[int]
    ) -> Response[Any] | Template:
        form = await request.form()
        try:
            await drift.dismiss(db_session, item_id, reason=forms.text(form, "reason")[:2000], actor=request.user.label)
        except Invalid as exc:
            await db_session.rollback()
            return await self._page(request, db_session, "open", 0, failed={item_id: exc.detail}, status_code=422)
        return web.done(request, f"{web.PREFIX}/drift")

    @post("/{item_id:int}/declare", status_code=200, guards=[web.editors], summary="Open a draft declaring it")
    async def declare(self, request: HTMXRequest, db_session: DbSession, item_id: FromPath[int]) -> Response[Any]:
        draft = await drift.draft_declaring(db_session, item_id, actor=request.user.label)
        return web.done(request, f"{web.PREFIX}/policy/drafts/{draft.id}#declarations")

    @staticmethod
    async def _page(
        request: HTMXRequest,
        db_session: DbSession,
        status: Status,
        offset: int,
        failed: dict[int, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        items, total = await drift.page_of_drift(
            db_session,
            LimitOffset(limit=PAGE, offset=offset),
            Period(None, None),
            status=None if status == "all" else status,
        )
        groups: dict[str, list[Any]] = {}
        for item in items:
            groups.setdefault(item.name, []).append(item)
        return web.page(
            request,
            "console/drift.html.j2",
            active="drift",
            status_code=status_code,
            groups=groups,
            total=total,
            status=status,
            offset=offset,
            limit=PAGE,
            page_href=lambda to: f"{web.PREFIX}/drift?{urlencode({'status': status, 'offset': to})}",
            failed=failed or {},
            declarable=drift.DECLARABLE,
        )

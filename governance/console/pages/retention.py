"""Retention: the periods (privacy staff edit, auditors read), the dry run, the purge runs with their
counts per class, and "purge now", which runs in the background while the page polls its progress.
The same services as /api/retention."""

from __future__ import annotations

from typing import Annotated, Any

from advanced_alchemy.filters import LimitOffset
from litestar import Controller, get, post
from litestar.params import QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from governance.console import web
from governance.core.errors import DomainError, FieldError, Invalid
from governance.core.params import MAX_ID, DbEngine, DbSession, RowId
from governance.retention import service
from governance.retention.controllers import Purges
from governance.retention.registry import data_classes

HERE = f"{web.PREFIX}/retention"
RUNS_SHOWN = 20


def _periods(form: Any, current: dict[str, int]) -> tuple[dict[str, int | None], list[FieldError]]:
    """The periods the form changes: a number of days, or empty for the default."""
    changes: dict[str, int | None] = {}
    problems = []
    for name in data_classes():
        raw = str(form.get(f"periods.{name}", "")).strip()
        if not raw:
            changes[name] = None
            continue
        try:
            days = int(raw)
        except ValueError:
            problems.append(FieldError(f"periods.{name}", "a whole number of days"))
            continue
        if days != current.get(name):
            changes[name] = days
    return changes, problems


class RetentionPages(Controller):
    path = "/retention"
    guards = [web.readers]

    async def _render(
        self, request: HTMXRequest, session: AsyncSession, *, status_code: int = 200, **extra: Any
    ) -> Template:
        runs, total = await service.runs(session, LimitOffset(RUNS_SHOWN, 0))
        context: dict[str, Any] = {"errors": {}, "problem": None, "values": {}, "started": None, **extra}
        return web.page(
            request,
            "console/retention.html.j2",
            active="retention",
            status_code=status_code,
            rules=await service.rules(session),
            preview=await service.preview(session),
            runs=runs,
            runs_total=total,
            classes=list(data_classes()),
            **context,
        )

    @get("/", summary="Retention periods, dry run and purge runs")
    async def show(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        started: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
    ) -> Template:
        return await self._render(request, db_session, started=started)

    @post("/", status_code=200, guards=[web.editors], summary="Save the retention periods")
    async def save(self, request: HTMXRequest, db_session: DbSession) -> Any:
        form = await request.form()
        rules = await service.rules(db_session)
        current = {r.data_class.name: r.period_days for r in rules}
        custom = {r.data_class.name for r in rules if r.custom}
        changes, problems = _periods(form, current)
        changes = {k: v for k, v in changes.items() if v is not None or k in custom}  # empty and default already
        try:
            if problems:
                raise Invalid(f"{len(problems)} retention period(s) cannot be set", errors=problems)
            if changes:
                await service.set_periods(db_session, changes, actor=request.user.label)
        except DomainError as exc:
            await db_session.rollback()
            values = {name: str(form.get(f"periods.{name}", "")) for name in data_classes()}
            return await self._render(
                request,
                db_session,
                status_code=exc.status,
                errors=web.field_errors(exc.errors),
                problem=exc,
                values=values,
            )
        return web.done(request, HERE)

    @post("/purge", status_code=200, guards=[web.editors], summary="Purge now, in the background")
    async def purge_now(self, request: HTMXRequest, db_engine: DbEngine, db_session: DbSession, purges: Purges) -> Any:
        try:
            run_id = await purges.start(db_engine, trigger="manual", actor=request.user.label)
        except DomainError as exc:
            return await self._render(request, db_session, status_code=exc.status, problem=exc)
        # a new query, not only a new fragment: the browser loads the page, whose run row then polls
        return web.done(request, f"{HERE}?started={run_id}#run-{run_id}")

    @get("/runs/{run_id:int}", summary="One purge run's progress (a fragment the page polls)")
    async def run_progress(self, request: HTMXRequest, db_session: DbSession, run_id: RowId) -> Template:
        return web.page(
            request,
            "console/_purge_run.html.j2",
            active="retention",
            run=await service.run(db_session, run_id),
            classes=list(data_classes()),
        )

"""Retention routes: rules (privacy staff) and purge runs (auditors read, privacy staff run). Thin."""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.exceptions import ClientException, HTTPException
from litestar.params import Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_409_CONFLICT
from sqlalchemy.ext.asyncio import AsyncSession

from auth.guards import auditors, privacy_staff
from auth.schemas import Principal
from governance.exports import check_format, export_response
from governance.retention import service
from governance.retention.schemas import RUN_COLUMNS, PurgeRunView, RetentionUpdate, RetentionView, RuleView
from governance.settings import Settings


def _view(rules: list[service.Rule], settings: Settings) -> RetentionView:
    return RetentionView([RuleView.of(rule) for rule in rules], settings.purge_at_utc, settings.scheduler_enabled)


class RetentionController(Controller):
    path = "/api/retention"
    tags = ["retention"]

    @get("/", guards=[privacy_staff], summary="Retention period of every data class")
    async def show(self, db_session: AsyncSession, settings: Settings) -> RetentionView:
        return _view(await service.rules(db_session), settings)

    @put("/", guards=[privacy_staff], summary="Change retention periods (days; null restores the default); audited")
    async def update(
        self, data: RetentionUpdate, request: Request[Principal, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> RetentionView:
        try:
            rules = await service.set_periods(db_session, data.periods, actor=request.user.label)
        except service.RetentionError as exc:
            raise ClientException(str(exc)) from exc
        return _view(rules, settings)

    @get("/runs", guards=[auditors], summary="The purge log, newest first (?format=csv for a download)")
    async def list_runs(
        self,
        db_session: AsyncSession,
        fmt: Annotated[str, QueryParameter(name="format", description="json or csv")] = "json",
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> Response:
        check_format(fmt)
        runs = [PurgeRunView.of(run) for run in await service.runs(db_session, limit=limit)]
        if fmt == "json":
            return Response(runs)
        rows = [
            {
                **{c: getattr(r, c) for c in RUN_COLUMNS},
                "cutoffs": json.dumps(r.cutoffs),
                "deleted": json.dumps(r.deleted),
            }
            for r in runs
        ]
        return export_response("csv", RUN_COLUMNS, rows, "purge-runs")

    @post(
        "/runs",
        guards=[privacy_staff],
        status_code=HTTP_201_CREATED,
        summary="Purge now; answers with the finished run",
    )
    async def run_now(self, request: Request[Principal, Any, Any]) -> PurgeRunView:
        engine = request.app.state["db_config"].get_engine()
        try:
            run = await service.purge(engine, trigger="manual", actor=request.user.label)
        except service.PurgeBusy as exc:
            raise HTTPException(status_code=HTTP_409_CONFLICT, detail=str(exc)) from exc
        if run is None:  # only a scheduled slot can be found taken; kept for the type checker
            raise HTTPException(status_code=HTTP_409_CONFLICT, detail="this purge already ran")
        return PurgeRunView.of(run)

"""Retention routes: rules (privacy staff) and purge runs (auditors read, privacy staff run). Thin."""

from __future__ import annotations

import json
from typing import Any

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Response, get, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from auth.guards import auditors, privacy_staff
from auth.schemas import AuthRequest
from governance.core.exports import export_response, export_spec
from governance.core.params import AppSettings, DbEngine, DbSession, ExportFormat, PageParam
from governance.core.problems import problems
from governance.core.settings import Settings
from governance.retention import service
from governance.retention.schemas import RUN_COLUMNS, PurgeRunView, RetentionUpdate, RetentionView, RuleView


def _view(rules: list[service.Rule], settings: Settings) -> RetentionView:
    return RetentionView([RuleView.of(rule) for rule in rules], settings.purge_at_utc, settings.scheduler_enabled)


class RetentionController(Controller):
    path = "/api/retention"
    tags = ["retention"]

    @get("/", guards=[privacy_staff], summary="Retention period of every data class")
    async def show(self, db_session: DbSession, settings: AppSettings) -> RetentionView:
        """Each data class with its period in days, its default and whether it was changed."""
        return _view(await service.rules(db_session), settings)

    @put(
        "/",
        guards=[privacy_staff],
        summary="Change retention periods; audited",
        description="Replaces the periods it names (whole days; `null` restores the default) and keeps the others.",
        responses=problems(422),
    )
    async def update(
        self, data: JSONBody[RetentionUpdate], request: AuthRequest, db_session: DbSession, settings: AppSettings
    ) -> RetentionView:
        rules = await service.set_periods(db_session, data.periods, actor=request.user.label)
        return _view(rules, settings)

    @get(
        "/runs",
        guards=[auditors],
        summary="The purge log, newest first",
        responses=export_spec(OffsetPagination[PurgeRunView]),
    )
    async def list_runs(self, db_session: DbSession, page: PageParam, format: ExportFormat = "json") -> Response[Any]:
        """Every purge run: when it started and finished, who or what started it, and how many rows of each
        data class it removed. `format=csv` downloads the same rows."""
        runs, total = await service.runs(db_session, page)
        views = [PurgeRunView.of(run) for run in runs]
        if format == "json":
            return Response(OffsetPagination(items=views, limit=page.limit, offset=page.offset, total=total))
        rows = [
            {
                **{c: getattr(r, c) for c in RUN_COLUMNS},
                "cutoffs": json.dumps(r.cutoffs),
                "deleted": json.dumps(r.deleted),
            }
            for r in views
        ]
        return export_response("csv", RUN_COLUMNS, rows, "purge-runs")

    @post(
        "/runs",
        guards=[privacy_staff],
        status_code=HTTP_201_CREATED,
        summary="Purge now; answers with the finished run",
        responses=problems(409),
    )
    async def run_now(self, request: AuthRequest, db_engine: DbEngine) -> PurgeRunView:
        """Purges every data class now by the periods in force, in batches, and answers with the run as
        logged (counts per class); audited."""
        run = await service.purge(db_engine, trigger="manual", actor=request.user.label)
        if run is None:  # only a scheduled slot can be found taken; kept for the type checker
            raise service.PurgeBusy
        return PurgeRunView.of(run)

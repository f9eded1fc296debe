"""Retention routes: rules (auditors read, privacy staff change), the dry run, and purge runs (auditors
read, privacy staff start one, which goes on in the background). Thin."""

from __future__ import annotations

import json
from typing import Any

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from auth.guards import auditors, privacy_staff
from auth.schemas import AuthRequest
from governance.core.exports import export_response, export_spec
from governance.core.params import AppSettings, DbEngine, DbSession, ExportFormat, PageParam, RowId
from governance.core.problems import problems
from governance.core.settings import Settings
from governance.retention import service
from governance.retention.schemas import (
    RUN_COLUMNS,
    PreviewView,
    PurgeRunView,
    RetentionUpdate,
    RetentionView,
    RuleView,
    preview_view,
)

Purges = NamedDependency[service.Background]  # `purges: Purges`: this app's background purges


def _view(rules: list[service.Rule], settings: Settings) -> RetentionView:
    return RetentionView([RuleView.of(rule) for rule in rules], settings.purge_at_utc, settings.scheduler_enabled)


class RetentionController(Controller):
    path = "/api/retention"
    tags = ["retention"]

    @get(
        "/",
        guards=[auditors],
        summary="Retention period of every data class",
        description="Readable by auditors, privacy staff and admins; only privacy staff and admins change it.",
    )
    async def show(self, db_session: DbSession, settings: AppSettings) -> RetentionView:
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
        "/preview",
        guards=[auditors],
        summary="Dry run: what a purge now would delete",
        description="Per data class, the cutoff a purge started now would use and how many rows are older. "
        "Deletes nothing and is not audited.",
    )
    async def preview(self, db_session: DbSession) -> PreviewView:
        return preview_view(await service.preview(db_session))

    @get(
        "/runs",
        guards=[auditors],
        summary="The purge log, newest first",
        description="Paginated; `format=csv` downloads the page with the cutoffs and counts as JSON cells.",
        responses=export_spec(OffsetPagination[PurgeRunView]),
    )
    async def list_runs(self, db_session: DbSession, page: PageParam, format: ExportFormat = "json") -> Response[Any]:
        """Every purge run: when it started and finished, who or what started it, its status, and how many
        rows of each data class it removed. `format=csv` downloads the same rows."""
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

    @get(
        "/runs/{run_id:int}",
        guards=[auditors],
        summary="One purge run, with its counts so far",
        description="While `status` is `running`, `deleted` grows as each batch commits; then `succeeded` or `failed`.",
        responses=problems(404),
    )
    async def show_run(self, run_id: RowId, db_session: DbSession) -> PurgeRunView:
        return PurgeRunView.of(await service.run(db_session, run_id))

    @post(
        "/runs",
        guards=[privacy_staff],
        status_code=HTTP_202_ACCEPTED,
        summary="Purge now, in the background; answers with the run just started",
        description="Answers 202 as soon as the run's row exists (status `running`); poll "
        "`GET /api/retention/runs/{id}` for its counts. One purge at a time across every instance: 409 while "
        "another runs. A run abandoned by a crash is finished first.",
        responses=problems(409),
    )
    async def run_now(
        self, request: AuthRequest, db_engine: DbEngine, db_session: DbSession, purges: Purges
    ) -> PurgeRunView:
        run_id = await purges.start(db_engine, trigger="manual", actor=request.user.label)
        return PurgeRunView.of(await service.run(db_session, run_id))

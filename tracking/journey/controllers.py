"""Journey routes: the public snippet and ingest, the staff report and erasure. Thin: rules in service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from auth.guards import auditors, privacy_staff
from auth.schemas import AuthRequest
from governance.core.clock import utcnow
from governance.core.exports import export_response, export_spec
from governance.core.params import DbSession, ExportFormat, PeriodParam
from governance.core.problems import problems
from governance.core.proxies import client_of
from governance.core.settings import Settings
from tracking.journey import geo, service
from tracking.journey.schemas import (
    MAX_BATCH_BYTES,
    MAX_EVENTS_PER_BATCH,
    STEP_PATTERN,
    ErasureResult,
    EventBatch,
    IngestResult,
    JourneyReport,
)
from tracking.journey.service import AcceptedBatch
from tracking.journey.urls import ALLOWED_QUERY_KEYS
from tracking.spool import Spool

INGEST_PATH = "/journey/events"
SESSION_IDLE_MINUTES = 30
# The snippet gets its limits from the server, so the two never disagree.
SNIPPET_CONFIG = {
    "endpoint": INGEST_PATH,
    "query_keys": list(ALLOWED_QUERY_KEYS),
    "max_batch": MAX_EVENTS_PER_BATCH,
    "session_idle_ms": SESSION_IDLE_MINUTES * 60_000,
    "flush_ms": 5_000,
    "step_pattern": STEP_PATTERN,
}
SNIPPET = (
    (Path(__file__).parent / "static" / "journey.js")
    .read_text()
    .replace("__JOURNEY_CONFIG__", json.dumps(SNIPPET_CONFIG))
)


def opted_out(request: Request) -> bool:
    """Do-Not-Track or Global Privacy Control: the snippet stays silent, and we drop what still comes."""
    return request.headers.get("dnt") == "1" or request.headers.get("sec-gpc") == "1"


@get("/journey.js", exclude_from_auth=True, sync_to_thread=False, include_in_schema=False)
def journey_script() -> Response[str]:
    return Response(
        SNIPPET,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def ingest_handler(settings: Settings, spool: Spool[AcceptedBatch]) -> HTTPRouteHandler:
    """`POST /journey/events`, built per app: its rate limit comes from the settings; accepted
    batches go through the spool (durable on local disk before the 202, in the database shortly after)."""
    geo.trusted_networks(settings.trusted_proxies)  # a malformed MS_TRUSTED_PROXIES fails here, at start-up
    limit = RateLimitConfig(
        rate_limit=("minute", settings.journey_batches_per_minute),
        store="journey_events_rate_limit",
        identifier_for_request=client_of,  # behind a trusted proxy: the client it forwarded
    )

    async def ingest_events(request: Request, data: JSONBody[EventBatch]) -> IngestResult:
        if opted_out(request):
            return IngestResult(accepted=0)
        peer = request.client.host if request.client else None
        country, region = geo.coarse_geo(peer, request.headers, settings.trusted_proxies)
        accepted = service.accept_batch(data, received_at=utcnow(), country=country, region=region)
        await spool.put(accepted)
        return IngestResult(accepted=len(accepted.events))

    return post(
        INGEST_PATH,
        exclude_from_auth=True,
        middleware=[limit.middleware],
        request_max_body_size=MAX_BATCH_BYTES,
        status_code=HTTP_202_ACCEPTED,
        summary="Accept a batch of journey events from the snippet (all or nothing)",
        description="Validated whole, then durable on the server before the 202; stored in the database "
        "within moments (analytics reports read it from there).",
        responses=problems(400, 413, 422, 429),
        tags=["journey"],
    )(ingest_events)


class JourneyStaffController(Controller):
    path = "/api/journey"
    tags = ["journey"]

    @get(
        "/report",
        guards=[auditors],
        summary="Visitors, sessions, landing/exit pages, attribution, funnel, countries",
        description="For the sessions that started in [since, until); default: the 30 days before until (now).",
        responses=export_spec(JourneyReport),
    )
    async def report(
        self,
        db_session: DbSession,
        period: PeriodParam,
        format: ExportFormat = "json",
        steps: Annotated[
            str | None, QueryParameter(max_length=1400, description="Funnel steps in order, comma-separated")
        ] = None,
        top: Annotated[int, QueryParameter(ge=1, le=100, description="Rows per list")] = 10,
    ) -> Response[Any]:
        lower, upper = service.report_range(period)
        funnel_steps = service.parse_steps(steps)
        report: JourneyReport = await service.build_report(db_session, lower, upper, steps=funnel_steps, top=top)
        if format == "csv":
            stamp = utcnow().strftime("%Y%m%d")
            return export_response("csv", service.CSV_COLUMNS, service.report_rows(report), f"journey-report-{stamp}")
        return Response(report)

    @delete(
        "/visitors/{visitor_id:str}",
        guards=[privacy_staff],
        status_code=HTTP_200_OK,
        summary="Erase every event of one visitor",
    )
    async def erase_visitor(
        self,
        visitor_id: Annotated[str, PathParameter(max_length=36, description="The visitor's id (a UUID)")],
        request: AuthRequest,
        db_session: DbSession,
    ) -> ErasureResult:
        """Deletes every journey event and session of the visitor id (a data-subject request); audited.
        Answers with how many rows were removed."""
        events, sessions = await service.erase_visitor(db_session, visitor_id, actor=request.user.label)
        return ErasureResult(visitor_id=visitor_id, events_deleted=events, sessions_deleted=sessions)


def journey_routes(settings: Settings, spool: Spool[AcceptedBatch]) -> list[Any]:
    return [journey_script, ingest_handler(settings, spool), JourneyStaffController]

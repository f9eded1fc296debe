"""`GET /api/evidence?at=`: the evidence bundle for auditors, as a zip download. Thin."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from auth.guards import auditors, not_cross_site
from auth.schemas import AuthRequest
from governance.core.params import AppSettings, AtParam, DbSession, SinceParam, parse_instant
from governance.core.problems import problems
from governance.enforcement.allowlist import Deployment
from governance.evidence import bundle

ZIP = "application/zip"


class EvidenceController(Controller):
    path = "/api/evidence"
    tags = ["evidence"]
    guards = [auditors, not_cross_site]  # its exports write the audit log

    @get(
        "/",
        summary="The evidence bundle for an instant: one zip for auditors and regulators",
        description="The policy version in force at `at` (page, JSON, the content exactly as hashed), the inventory "
        "(CSV, JSON), the violations and purge runs of the period, the audit log of the period with the "
        "verification of its hash chain, a manifest with the SHA-256 of every file and a SHA256SUMS file. The period "
        "runs from `since` (default: when that version took effect) to `at`. Audit-logged with the manifest's "
        "SHA-256, which the `X-Manifest-SHA256` header also carries.",
        responses={
            200: ResponseSpec(data_container=bytes, media_type=ZIP, description="The bundle (a zip archive)"),
            **problems(400, 404, 422),
        },
    )
    async def export(
        self,
        request: AuthRequest,
        db_session: DbSession,
        settings: AppSettings,
        at: AtParam = None,
        since: SinceParam = None,
    ) -> Response[bytes]:
        found = await bundle.build(
            db_session,
            request.user.label,
            at=parse_instant(at, "at") if at else None,
            since=parse_instant(since, "since") if since else None,
            deployment=Deployment.of(settings),
        )
        return Response(
            found.archive,
            media_type=ZIP,
            headers={
                "Content-Disposition": f'attachment; filename="{found.filename}"',
                "X-Manifest-SHA256": found.manifest_sha256,
                "Cache-Control": "no-store",
            },
        )

"""Routes of the cookie policy: public pages and JSON, and the drafting workflow for privacy staff.

Thin: rules live in policy_docs.service; reads of published versions go through the cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from auth.guards import privacy_staff
from auth.schemas import AuthRequest
from governance.core.clock import utcnow
from governance.core.errors import NotFound
from governance.core.params import AtParam, DbSession, parse_instant
from governance.core.problems import HTML_ERRORS, problems
from policy_docs import cache as policy_cache
from policy_docs import notify as policy_changes
from policy_docs import pages, service
from policy_docs.diff import diff as diff_versions
from policy_docs.models import PolicyVersion
from policy_docs.rendering import PreparedResponse, html_response
from policy_docs.schemas import (
    DraftCreate,
    DraftDiff,
    DraftPatch,
    DraftProblems,
    DraftView,
    PolicyDiff,
    PolicySnapshot,
    PublishRequest,
    VersionSummary,
    WithdrawnVersion,
    WithdrawRequest,
)

VersionNumber = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="A published version's number")]


def parse_at(at: str | None) -> datetime:
    return parse_instant(at, "at") if at else utcnow()


async def _in_force(request: Request, at: str | None) -> service.PolicySnapshot:
    instant = parse_at(at)
    snapshot = await policy_cache.at(request.app.state, instant)
    if snapshot is None:
        raise NotFound(f"no version of the cookie policy was in force at {instant.isoformat()}")
    return snapshot


async def _version(request: Request, number: int) -> service.PolicySnapshot:
    snapshot = await policy_cache.of(request.app.state).version(number)
    if snapshot is None:
        raise NotFound(f"the cookie policy has no version {number}")
    return snapshot


class PolicyPagesController(Controller):
    """The public HTML pages. They set no cookies and load nothing from third parties."""

    path = "/cookie-policy"
    tags = ["cookie policy"]
    include_in_schema = False
    opt = HTML_ERRORS

    @get("/", exclude_from_auth=True, summary="The cookie policy in force now (or ?at=)")
    async def current_page(self, request: Request) -> PreparedResponse:
        # `?at=` read by hand: this is the hottest public page, and the query is usually empty
        at = request.query_params.get("at") if request.scope["query_string"] else None
        cache = policy_cache.of(request.app.state)
        return html_response(request, await pages.policy_page(request, cache, await _in_force(request, at)))

    @get("/versions", exclude_from_auth=True, summary="History of the cookie policy")
    async def history_page(self, request: Request) -> PreparedResponse:
        return html_response(request, await pages.history_page(request, policy_cache.of(request.app.state)))

    @get(
        "/versions/{number:int}",
        exclude_from_auth=True,
        summary="One version, with what changed since the previous one",
    )
    async def version_page(self, request: Request, number: VersionNumber) -> PreparedResponse:
        cache = policy_cache.of(request.app.state)
        return html_response(request, await pages.version_page(request, cache, await _version(request, number)))


class PolicyApiController(Controller):
    """The published policy as JSON: public, like the page."""

    path = "/api/policy"
    tags = ["cookie policy"]

    @get("/current", exclude_from_auth=True, summary="The version in force now (or at ?at=)", responses=problems(404))
    async def current(self, request: Request, at: AtParam = None) -> PolicySnapshot:
        """The version whose `effective_from` is the latest at or before the instant (now by default):
        content, declarations, number and content hash. 404 when none was in force then."""
        return await _in_force(request, at)

    @get("/versions", exclude_from_auth=True, summary="Every published version, newest first")
    async def versions(self, request: Request) -> list[VersionSummary]:
        """Number, effective from, material or editorial, summary and content hash of every published
        version; the one in force is marked. Withdrawn versions are not listed."""
        cache = policy_cache.of(request.app.state)
        current = await cache.current()
        in_force = current.number if current else None
        return [service.summary_of(v, in_force) for v in reversed(await cache.versions())]

    @get("/versions/{number:int}", exclude_from_auth=True, summary="One published version", responses=problems(404))
    async def version(self, request: Request, number: VersionNumber) -> PolicySnapshot:
        """The full content of a published version by its number; 404 for a number never published."""
        return await _version(request, number)

    @get(
        "/diff",
        exclude_from_auth=True,
        summary="What changed between two versions",
        description="Declarations added, removed and changed field by field; for each changed section, "
        "a word-level redline of its heading and body (`redlines[].segments`: `{op: equal|insert|delete, text}`).",
        responses=problems(400, 404),
    )
    async def diff(
        self,
        request: Request,
        from_number: Annotated[int, QueryParameter(name="from", ge=1, le=2**31 - 1, description="The older version")],
        to_number: Annotated[int, QueryParameter(name="to", ge=1, le=2**31 - 1, description="The newer version")],
    ) -> PolicyDiff:
        old, new = await _version(request, from_number), await _version(request, to_number)
        return diff_versions(old.content, new.content, old.number, new.number)


class VersionAdminController(Controller):
    """Privacy staff act on published versions."""

    path = "/api/policy/versions"
    tags = ["cookie policy: drafts"]
    guards = [privacy_staff]

    @post(
        "/{number:int}/withdraw",
        status_code=200,
        summary="Withdraw a scheduled version before it takes effect",
        description="The version leaves the history, the page, the allowlist, the guard and the inventory on every "
        "instance; it keeps its number, which is never reused. Audited with the reason. 409 once the version is in "
        "force (or superseded), or when it is withdrawn already.",
        responses=problems(400, 404, 409, 422),
    )
    async def withdraw(
        self, number: VersionNumber, data: JSONBody[WithdrawRequest], request: AuthRequest, db_session: DbSession
    ) -> WithdrawnVersion:
        withdrawn = await service.withdraw(db_session, number, data.reason, request.user.label)
        await policy_changes.of(request.app.state).committed(db_session)  # committed, then every instance reloads
        return withdrawn


def draft_view(draft: PolicyVersion) -> DraftView:
    return DraftView(
        id=str(draft.id),
        document=service.COOKIE_POLICY,
        revision=draft.revision,
        based_on=draft.based_on,
        change_summary=draft.change_summary,
        material=draft.material,
        created_by=draft.created_by,
        updated_at=draft.updated_at,
        content=service.content_of(draft),
        problems=service.draft_problems(draft),
    )


class DraftController(Controller):
    """Privacy staff draft, check, preview and publish new versions."""

    path = "/api/policy/drafts"
    tags = ["cookie policy: drafts"]
    guards = [privacy_staff]

    @get("/", summary="Drafts not yet published")
    async def list_drafts(self, db_session: DbSession) -> list[DraftView]:
        """Every open draft with the version it is based on and the problems that would block publishing."""
        return [draft_view(d) for d in await service.list_drafts(db_session)]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Start a draft from a published version (audited)",
        responses=problems(400, 404),
    )
    async def create(self, data: JSONBody[DraftCreate], request: AuthRequest, db_session: DbSession) -> DraftView:
        """Copies the content of `based_on` (default: the version in force) into a new draft that staff edit
        with PATCH."""
        return draft_view(await service.create_draft(db_session, data, request.user.label))

    @get(
        "/{draft_id:uuid}",
        summary="One draft, with the problems that would block publishing",
        responses=problems(404, 409),
    )
    async def get_draft(self, draft_id: FromPath[UUID], db_session: DbSession) -> DraftView:
        """The draft's content as it stands, its base version and every validation problem with the field it
        concerns."""
        return draft_view(await service.get_draft(db_session, draft_id))

    @patch(
        "/{draft_id:uuid}",
        summary="Edit prose, declarations or lists (published versions: 409)",
        description="Merges: fields left out are kept. Sections are edited one at a time by `id` "
        "(`upsert_sections`, `remove_sections`, `section_order` to move them), declarations by (`kind`, `name`) "
        "(`upsert_declarations`, `remove_declarations`). `replace_sections` / `replace_declarations` replace a "
        "whole list and apply first. `title`, `intro`, `not_used`, `contact`, `change_summary`, `material` "
        "replace their value. An unknown field is a 400 naming it; an edit that cannot apply (removing what is "
        "not there, an item twice) is a 422 naming the patch field. `expected_revision`: 409 when the draft "
        "changed since. Audited with what changed.",
        responses=problems(400, 404, 409, 422),
    )
    async def edit(
        self, draft_id: FromPath[UUID], data: JSONBody[DraftPatch], request: AuthRequest, db_session: DbSession
    ) -> DraftView:
        return draft_view(await service.edit_draft(db_session, draft_id, data, request.user.label))

    @delete(
        "/{draft_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Discard a draft (audited)",
        responses=problems(404, 409),
    )
    async def discard(self, draft_id: FromPath[UUID], request: AuthRequest, db_session: DbSession) -> None:
        """Deletes the draft; published versions are never affected."""
        await service.delete_draft(db_session, draft_id, request.user.label)

    @get(
        "/{draft_id:uuid}/diff",
        summary="What the draft changes in the version it was started from",
        description="Declarations added, removed and changed field by field; sections added and removed; for each "
        "changed section a word-level redline of its heading and body (`redlines[].segments`).",
        responses=problems(400, 404, 409),
    )
    async def diff(self, draft_id: FromPath[UUID], db_session: DbSession) -> DraftDiff:
        return await service.draft_diff(db_session, draft_id)

    @post(
        "/{draft_id:uuid}/validate",
        status_code=200,
        summary="Every problem that would block publishing, each with its field",
        description="`problems[].field` names the field as the draft's content addresses it "
        "(`declarations[3].duration.text`, `sections[0].heading`, `change_summary`).",
        responses=problems(404, 409),
    )
    async def validate(self, draft_id: FromPath[UUID], db_session: DbSession) -> DraftProblems:
        return DraftProblems(problems=service.draft_problems(await service.get_draft(db_session, draft_id)))

    @get(
        "/{draft_id:uuid}/preview",
        summary="The draft rendered as the public page would show it",
        responses=problems(404, 409),
    )
    async def preview(self, draft_id: FromPath[UUID], request: Request, db_session: DbSession) -> Response[str]:
        """HTML of the public cookie-policy page as it would render with this draft's content, unpublished."""
        draft = await service.get_draft(db_session, draft_id)
        snapshot = service.preview_snapshot(draft)
        html = pages.preview_html(request, snapshot, draft.based_on, draft.revision)
        return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    @post(
        "/{draft_id:uuid}/publish",
        status_code=HTTP_201_CREATED,
        summary="Publish now, or schedule at a future effective_from",
        responses=problems(404, 409, 422),
    )
    async def publish(
        self,
        draft_id: FromPath[UUID],
        request: AuthRequest,
        db_session: DbSession,
        data: JSONBody[PublishRequest | None] = None,
    ) -> PolicySnapshot:
        """Validates the draft and publishes it as the next version: in force now, or at `effective_from` if
        that lies in the future (a scheduled version, which can be withdrawn until then). 422 lists the
        problems when it does not validate."""
        snapshot = await service.publish(db_session, draft_id, data or PublishRequest(), request.user.label)
        await policy_changes.of(request.app.state).committed(db_session)  # committed, then every instance reloads
        return snapshot

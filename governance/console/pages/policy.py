"""Policy: version history, withdrawing a scheduled version, and the draft editor with its checks.

Thin over policy_docs.service, exactly the functions the JSON API calls (create_draft, edit_draft,
draft_problems, draft_diff, preview_snapshot, publish, withdraw, delete_draft): the console never
re-implements a rule; it turns forms into the API's own input structs (governance/console/forms.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from governance.console import forms, web
from governance.core.clock import utcnow
from governance.core.errors import FieldError, Invalid, NotFound
from governance.core.params import DbSession
from policy_docs import cache as policy_cache
from policy_docs import pages, service
from policy_docs.models import PolicyVersion
from policy_docs.rendering import CSP as PUBLIC_PAGE_CSP
from policy_docs.rendering import render_markdown
from policy_docs.schemas import DraftCreate, DraftPatch, PublishRequest

MAX_PREVIEW = 100_000


def _revision(form: Any) -> int | None:
    value = forms.text(form, "revision")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


async def _in_force(request: HTMXRequest) -> int | None:
    current = await policy_cache.of(request.app.state).current()
    return current.number if current else None


class PolicyPages(Controller):
    path = "/policy"
    guards = [web.readers]

    # --- history and published versions ----------------------------------------------------------

    @get("/", summary="Version history, open drafts, and starting a draft")
    async def history(self, request: HTMXRequest, db_session: DbSession) -> Template:
        in_force = await _in_force(request)
        return web.page(
            request,
            "console/policy.html.j2",
            active="policy",
            history=await service.staff_history(db_session, in_force),
            drafts=await service.list_drafts(db_session),
            in_force=in_force,
        )

    @get("/versions/{number:int}", summary="One version: what it says and, while scheduled, withdrawing it")
    async def version(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        number: FromPath[int],
        published: Annotated[str | None, QueryParameter(max_length=8)] = None,
        withdrawn: Annotated[str | None, QueryParameter(max_length=8)] = None,
    ) -> Template:
        entries = {e.summary.number: e for e in await service.staff_history(db_session, await _in_force(request))}
        entry = entries.get(number)
        if entry is None:
            raise NotFound(f"the cookie policy has no published version {number}")
        snapshot = None if entry.withdrawn else await policy_cache.of(request.app.state).version(number)
        notice = None
        if published and not entry.withdrawn:
            scheduled = entry.summary.status == "scheduled"
            notice = f"Version {number} is published{' and scheduled' if scheduled else ' and in force'}."
        elif withdrawn and entry.withdrawn:
            notice = f"Version {number} is withdrawn."
        return web.page(
            request, "console/version.html.j2", active="policy", entry=entry, snapshot=snapshot, notice=notice
        )

    @post(
        status_code=200,
        path="/versions/{number:int}/withdraw",
        guards=[web.editors],
        summary="Withdraw a scheduled version",
    )
    async def withdraw(
        self, request: HTMXRequest, db_session: DbSession, number: FromPath[int]
    ) -> Response[Any] | Template:
        form = await request.form()
        try:
            await service.withdraw(db_session, number, forms.text(form, "reason")[:2000], request.user.label)
        except Invalid as exc:
            await db_session.rollback()
            entries = {e.summary.number: e for e in await service.staff_history(db_session, await _in_force(request))}
            snapshot = await policy_cache.of(request.app.state).version(number)
            return web.page(
                request,
                "console/version.html.j2",
                active="policy",
                status_code=422,
                entry=entries[number],
                snapshot=snapshot,
                errors=web.field_errors(exc.errors),
            )
        await db_session.commit()  # as the API: committed before any instance reloads
        policy_cache.of(request.app.state).invalidate()
        return web.done(request, f"{web.PREFIX}/policy/versions/{number}?withdrawn=1")

    # --- drafts ----------------------------------------------------------------------------------

    @post(status_code=200, path="/drafts", guards=[web.editors], summary="Start a draft from a published version")
    async def start_draft(self, request: HTMXRequest, db_session: DbSession) -> Response[Any]:
        form = await request.form()
        based_on = forms.text(form, "based_on")
        data = DraftCreate(based_on=int(based_on) if based_on.isdigit() and int(based_on) < 2**31 else None)
        draft = await service.create_draft(db_session, data, request.user.label)
        return web.done(request, f"{web.PREFIX}/policy/drafts/{draft.id}")

    @get("/drafts/{draft_id:uuid}", summary="The draft editor")
    async def draft(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        draft_id: FromPath[UUID],
        saved: Annotated[str | None, QueryParameter(max_length=80)] = None,
    ) -> Template:
        draft = await service.get_draft(db_session, draft_id)
        return self._editor(request, draft, saved=saved)

    @post(
        status_code=200,
        path="/drafts/{draft_id:uuid}/details",
        guards=[web.editors],
        summary="Save the change summary and material flag",
    )
    async def save_details(
        self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]
    ) -> Response[Any] | Template:
        form = await request.form()
        patch = {"change_summary": forms.text(form, "change_summary").strip(), "material": bool(form.get("material"))}
        return await self._patch(request, db_session, draft_id, form, patch, "details")

    @post(
        status_code=200,
        path="/drafts/{draft_id:uuid}/intro",
        guards=[web.editors],
        summary="Save the title and introduction",
    )
    async def save_intro(
        self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]
    ) -> Response[Any] | Template:
        form = await request.form()
        patch = {"title": forms.text(form, "title").strip(), "intro": forms.text(form, "intro").replace("\r\n", "\n")}
        return await self._patch(request, db_session, draft_id, form, patch, "intro")

    @post(
        status_code=200,
        path="/drafts/{draft_id:uuid}/declarations",
        guards=[web.editors],
        summary="Save the declarations table",
    )
    async def save_declarations(
        self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]
    ) -> Response[Any] | Template:
        form = await request.form()
        parsed = forms.declaration_rows(form)
        if parsed.errors:
            draft = await service.get_draft(db_session, draft_id)
            return self._editor(request, draft, rows=parsed.rows, form_errors=parsed.errors, status_code=422)
        return await self._patch(
            request, db_session, draft_id, form, {"replace_declarations": parsed.declarations}, "declarations"
        )

    @post(
        status_code=200,
        path="/drafts/{draft_id:uuid}/sections/{section_id:str}",
        guards=[web.editors],
        summary="Save one section (the others stay as they are)",
    )
    async def save_section(
        self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID], section_id: FromPath[str]
    ) -> Response[Any] | Template:
        form = await request.form()
        draft = await service.get_draft(db_session, draft_id)
        sections = service.content_of(draft).sections
        index = next((i for i, s in enumerate(sections) if s.id == section_id), None)
        if index is None:
            raise NotFound(f"the draft has no section {section_id!r}")
        section, errors = forms.section_from(form, sections[index], index)
        if section is None:
            return self._editor(request, draft, form_errors=errors, status_code=422)
        return await self._patch(
            request, db_session, draft_id, form, {"upsert_sections": [section]}, f"section-{section_id}"
        )

    @post(
        status_code=200,
        path="/drafts/{draft_id:uuid}/validate",
        guards=[web.editors],
        summary="Every problem that blocks publishing",
    )
    async def validate(self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]) -> Template:
        return self._editor(request, await service.get_draft(db_session, draft_id), validated=True)

    @post(
        status_code=200,
        path="/markdown",
        guards=[web.editors],
        summary="Live preview of Markdown, rendered as the public page renders it",
    )
    async def markdown(self, request: HTMXRequest) -> Response[str]:
        form = await request.form()
        source = next((forms.text(form, name) for name in ("body", "intro") if name in form), "")
        return Response(str(render_markdown(source[:MAX_PREVIEW])), media_type="text/html; charset=utf-8")

    @get("/drafts/{draft_id:uuid}/preview", summary="The draft as the public page would show it")
    async def preview(self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]) -> Response[str]:
        draft = await service.get_draft(db_session, draft_id)
        html = pages.preview_html(request, service.preview_snapshot(draft), draft.based_on, draft.revision)
        # the public page's own CSP (its inline stylesheet by hash), not the console's
        return Response(
            html, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PUBLIC_PAGE_CSP}
        )

    @get("/drafts/{draft_id:uuid}/changes", summary="The draft against the version it is based on")
    async def changes(self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]) -> Template:
        draft = await service.get_draft(db_session, draft_id)
        return web.page(
            request,
            "console/changes.html.j2",
            active="policy",
            draft=draft,
            diff=await service.draft_diff(db_session, draft_id),
        )

    @get("/drafts/{draft_id:uuid}/publish", summary="Confirm: what will change, and when")
    async def confirm_publish(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        draft_id: FromPath[UUID],
        when: Annotated[str, QueryParameter(max_length=8)] = "now",
        effective_from: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> Template:
        draft = await service.get_draft(db_session, draft_id)
        errors: list[FieldError] = []
        instant: datetime | None = None
        if when == "at":
            try:
                instant = forms.utc_instant(effective_from or "")
            except Invalid as exc:
                errors = exc.errors
        problems = service.draft_problems(draft)
        return web.page(
            request,
            "console/publish.html.j2",
            active="policy",
            status_code=422 if errors else 200,
            draft=draft,
            diff=await service.draft_diff(db_session, draft_id),
            instant=instant,
            now=utcnow(),
            in_force=await _in_force(request),
            problems=problems,
            errors=web.field_errors(errors),
            effective_from=effective_from or "",
        )

    @post(
        status_code=200,
        path="/drafts/{draft_id:uuid}/publish",
        guards=[web.editors],
        summary="Publish now, or schedule",
    )
    async def publish(
        self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]
    ) -> Response[Any] | Template:
        form = await request.form()
        at = forms.text(form, "effective_from")
        try:
            effective = forms.utc_instant(at) if at else None
            snapshot = await service.publish(
                db_session, draft_id, PublishRequest(effective_from=effective), request.user.label
            )
        except Invalid as exc:
            await db_session.rollback()
            draft = await service.get_draft(db_session, draft_id)
            return web.page(
                request,
                "console/publish.html.j2",
                active="policy",
                status_code=422,
                draft=draft,
                diff=await service.draft_diff(db_session, draft_id),
                instant=None,
                now=utcnow(),
                in_force=await _in_force(request),
                problems=service.draft_problems(draft),
                errors=web.field_errors(exc.errors),
                effective_from=at,
                failed=exc.detail,
            )
        await db_session.commit()  # as the API: before the cache reloads
        policy_cache.of(request.app.state).invalidate()
        return web.done(request, f"{web.PREFIX}/policy/versions/{snapshot.number}?published=1")

    @post(status_code=200, path="/drafts/{draft_id:uuid}/discard", guards=[web.editors], summary="Discard a draft")
    async def discard(self, request: HTMXRequest, db_session: DbSession, draft_id: FromPath[UUID]) -> Response[Any]:
        await service.delete_draft(db_session, draft_id, request.user.label)
        return web.done(request, f"{web.PREFIX}/policy")

    # --- helpers ---------------------------------------------------------------------------------

    async def _patch(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        draft_id: UUID,
        form: Any,
        values: dict[str, Any],
        saved: str,
    ) -> Response[Any] | Template:
        try:
            patch = DraftPatch(**values, expected_revision=_revision(form))
        except (TypeError, ValueError) as exc:  # pragma: no cover - the values come typed from forms.py
            raise Invalid(str(exc)) from exc
        problems = _struct_problems(patch)
        if problems:
            draft = await service.get_draft(db_session, draft_id)
            return self._editor(request, draft, form_errors=problems, status_code=422)
        draft = await service.edit_draft(db_session, draft_id, patch, request.user.label)
        # the revision makes each location new: the browser reloads instead of only moving to the anchor
        return web.done(request, f"{web.PREFIX}/policy/drafts/{draft_id}?saved={saved}&rev={draft.revision}#{saved}")

    @staticmethod
    def _editor(
        request: HTMXRequest,
        draft: PolicyVersion,
        *,
        rows: list[dict[str, str]] | None = None,
        form_errors: list[FieldError] | None = None,
        saved: str | None = None,
        validated: bool = False,
        status_code: int = 200,
    ) -> Template:
        content = service.content_of(draft)
        problems = service.draft_problems(draft)
        shown = form_errors if form_errors else problems
        return web.page(
            request,
            "console/draft.html.j2",
            active="policy",
            status_code=status_code,
            draft=draft,
            content=content,
            rows=rows if rows is not None else [*map(forms.row_of, content.declarations), forms.blank_row()],
            problems=problems,
            errors=web.field_errors(shown),
            unsaved=bool(form_errors),
            saved=saved,
            validated=validated,
            fid=field_id,
            markdown=render_markdown,
        )


def field_id(path: str) -> str:
    """An HTML id for a field path: `declarations[3].duration.text` -> `f-declarations-3-duration-text`."""
    return "f-" + "".join(c if c.isalnum() else "-" for c in path).strip("-").replace("--", "-")


def _struct_problems(patch: DraftPatch) -> list[FieldError]:
    """The API decodes its body with the struct's limits; a struct built in Python is checked the same way."""
    try:
        msgspec.convert(msgspec.to_builtins(patch), DraftPatch)
    except msgspec.ValidationError as exc:
        return [forms.conversion_error(exc, "")]
    return []

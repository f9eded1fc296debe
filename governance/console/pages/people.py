"""People (admins): users (create, roles, disable/enable, password reset, unlock) and every account's
API keys (list with last use, create shown once, revoke). The same service as /api/users: auth.people."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from advanced_alchemy.filters import LimitOffset
from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import people
from auth.models import Account, Role
from auth.service import Lockout
from governance.console import web
from governance.core.errors import DomainError, FieldError, Invalid
from governance.core.params import AppSettings, DbSession
from governance.core.settings import Settings

HERE = f"{web.PREFIX}/people"
PAGE = 200
ROLES = [r.value for r in Role if r != Role.MACHINE]


class PeoplePages(Controller):
    path = "/people"
    guards = [web.admins]

    async def _render(
        self,
        request: HTMXRequest,
        session: AsyncSession,
        settings: Settings,
        *,
        status_code: int = 200,
        problem: DomainError | None = None,
        form: str = "",
        new_key: str | None = None,
        offset: int = 0,
    ) -> Template:
        users, total = await people.list_people(session, LimitOffset(PAGE, offset), Lockout.of(settings))
        accounts = list(await session.scalars(select(Account).order_by(Account.name)))
        return web.page(
            request,
            "console/people.html.j2",
            active="people",
            status_code=status_code,
            users=users,
            total=total,
            offset=offset,
            limit=PAGE,
            page_href=lambda to: f"{HERE}?offset={to}#users",
            keys=await people.list_keys(session),
            accounts=accounts,
            roles=ROLES,
            problem=problem,
            problem_form=form,
            errors=web.field_errors(problem.errors) if problem else {},
            new_key=new_key,
        )

    async def _refused(
        self, request: HTMXRequest, session: AsyncSession, settings: Settings, exc: DomainError, form: str
    ) -> Template:
        await session.rollback()
        return await self._render(request, session, settings, status_code=exc.status, problem=exc, form=form)

    @get("/", summary="Users and API keys")
    async def show(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        settings: AppSettings,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        return await self._render(request, db_session, settings, offset=offset)

    @post("/users", status_code=200, summary="Create a user")
    async def create_user(self, request: HTMXRequest, db_session: DbSession, settings: AppSettings) -> Any:
        form = await request.form()
        try:
            await people.create_person(
                db_session,
                actor=request.user.label,
                email=str(form.get("email", "")),
                password=str(form.get("password", "")),
                roles=[str(r) for r in form.getall("roles")] if "roles" in form else [],
                account=str(form.get("account", "")).strip() or None,
            )
        except DomainError as exc:
            return await self._refused(request, db_session, settings, exc, "create")
        return web.done(request, HERE)

    @post("/users/{user_id:uuid}/roles", status_code=200, summary="Change a user's roles")
    async def set_roles(
        self, user_id: FromPath[UUID], request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Any:
        form = await request.form()
        roles = [str(r) for r in form.getall("roles")] if "roles" in form else []
        return await self._change(request, db_session, settings, user_id, f"roles-{user_id}", roles=roles)

    @post("/users/{user_id:uuid}/active", status_code=200, summary="Disable or enable a user")
    async def set_active(
        self, user_id: FromPath[UUID], request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Any:
        form = await request.form()
        active = str(form.get("active", ""))
        if active not in {"true", "false"}:
            exc = Invalid("say whether the user is active", errors=[FieldError("active", "true or false")])
            return await self._refused(request, db_session, settings, exc, f"active-{user_id}")
        return await self._change(request, db_session, settings, user_id, f"active-{user_id}", active=active == "true")

    async def _change(
        self,
        request: HTMXRequest,
        session: AsyncSession,
        settings: Settings,
        user_id: UUID,
        form: str,
        **change: Any,
    ) -> Any:
        try:
            user = await people.user_by_id(session, user_id)
            await people.update_person(session, user, actor=request.user.label, actor_id=request.user.id, **change)
        except DomainError as exc:
            return await self._refused(request, session, settings, exc, form)
        return web.done(request, HERE)

    @post("/users/{user_id:uuid}/password", status_code=200, summary="Set a new password for a user")
    async def reset_password(
        self, user_id: FromPath[UUID], request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Any:
        form = await request.form()
        try:
            user = await people.user_by_id(db_session, user_id)
            await people.reset_password(
                db_session, user, actor=request.user.label, password=str(form.get("password", ""))
            )
        except DomainError as exc:
            return await self._refused(request, db_session, settings, exc, f"password-{user_id}")
        return web.done(request, HERE)

    @post("/users/{user_id:uuid}/unlock", status_code=200, summary="Lift a user's failed-login lockout")
    async def unlock(
        self, user_id: FromPath[UUID], request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Any:
        try:
            user = await people.user_by_id(db_session, user_id)
            await people.unlock(db_session, user, actor=request.user.label, secret=settings.jwt_secret)
        except DomainError as exc:
            return await self._refused(request, db_session, settings, exc, f"unlock-{user_id}")
        return web.done(request, HERE)

    @post("/api-keys", status_code=200, summary="Create an API key for an account (shown once)")
    async def create_key(self, request: HTMXRequest, db_session: DbSession, settings: AppSettings) -> Any:
        form = await request.form()
        try:
            try:
                account_id = UUID(str(form.get("account_id", "")))
            except ValueError:
                raise Invalid("choose the account", errors=[FieldError("account_id", "choose an account")]) from None
            name = str(form.get("name", "")).strip() or "sending pipeline"
            if len(name) > 200:
                raise Invalid("the name is too long", errors=[FieldError("name", "at most 200 characters")])
            _, key = await people.create_key(db_session, actor=request.user.label, account_id=account_id, name=name)
        except DomainError as exc:
            return await self._refused(request, db_session, settings, exc, "key")
        await db_session.commit()
        return await self._render(request, db_session, settings, new_key=key)

    @post("/api-keys/{key_id:uuid}/revoke", status_code=200, summary="Revoke an API key")
    async def revoke_key(
        self, key_id: FromPath[UUID], request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Response[Any] | Template:
        try:
            await people.revoke_key(db_session, actor=request.user.label, key_id=key_id, account_id=None)
        except DomainError as exc:
            return await self._refused(request, db_session, settings, exc, f"revoke-{key_id}")
        return web.done(request, HERE)

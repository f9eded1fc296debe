"""Auth routes: login, logout, me, and account API keys. Thin: rules live in auth.service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from auth import people, service
from auth.guards import account_members, account_scope, json_body_only, same_origin_only, staff_only, target_account
from auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyView,
    AuthRequest,
    LoginRequest,
    LoginResponse,
    Me,
    PasswordSet,
    Principal,
    SessionToken,
    SignedOut,
    UserChange,
    UserCreate,
    UserView,
)
from auth.security import cleared_cookies, csrf_token_for, session_cookies
from auth.service import Lockout
from governance.core.errors import BadRequest, Forbidden
from governance.core.params import AppSettings, DbSession, PageParam
from governance.core.problems import problems
from governance.core.proxies import client_of
from governance.core.schemas import view

# Per client (`client_of`: behind a trusted proxy, the address it forwarded), beside the per-account
# failure count: slows spraying many emails from one host.
LOGIN_RATE_LIMIT = RateLimitConfig(
    rate_limit=("minute", 30), store="login_rate_limit", identifier_for_request=client_of
)
AccountId = Annotated[UUID | None, QueryParameter(description="Admins: the account to act for")]


def me_of(principal: Principal) -> Me:
    return view(Me, principal)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/login",
        status_code=HTTP_200_OK,
        middleware=[LOGIN_RATE_LIMIT.middleware],
        guards=[same_origin_only, json_body_only],
        summary="Sign in; sets the ms_access and ms_csrf cookies",
        description="Wrong password and unknown email get the same 401. Failures count per (account, client): "
        "after `MS_LOGIN_MAX_FAILURES` in `MS_LOGIN_WINDOW_SECONDS` that client gets 429 with Retry-After for "
        "that account, while other clients can still sign in; `MS_LOGIN_ACCOUNT_MAX_FAILURES` across all "
        "clients bounds a guesser with many addresses. Too many attempts from one client, for any accounts, are "
        "a 429 too. The body must be `application/json` (415 otherwise) and a browser's `Origin` must be this "
        "service or a configured dashboard origin (403 otherwise: no other site can sign a browser in).",
        responses=problems(401, 403, 415, 429),
    )
    async def login(
        self, data: JSONBody[LoginRequest], request: Request, db_session: DbSession, settings: AppSettings
    ) -> Response[LoginResponse]:
        user = await service.authenticate(
            db_session,
            email=data.email,
            password=data.password,
            client=client_of(request),
            rule=service.Lockout.of(settings),
        )
        token = service.new_session_token(user)
        encoded = token.encode(secret=settings.jwt_secret, algorithm="HS256")
        csrf = csrf_token_for(settings.jwt_secret, str(token.jti))
        body = LoginResponse(
            user=me_of(service.principal_for_user(user)),
            csrf_token=csrf,
            expires_at=token.exp,
            access_token=encoded if settings.token_in_body else None,
        )
        return Response(body, cookies=session_cookies(settings, encoded, csrf))

    @post(
        "/logout",
        status_code=HTTP_200_OK,
        guards=[same_origin_only],
        summary="Sign out: revokes the session and clears both cookies",
        description="Only sessions sign out; an API key is revoked instead (400). A browser's `Origin` must be "
        "this service or a configured dashboard origin (403 otherwise).",
        responses=problems(403),
    )
    async def logout(self, request: AuthRequest, db_session: DbSession, settings: AppSettings) -> Response[SignedOut]:
        if not isinstance(request.auth, SessionToken):
            raise BadRequest("API keys have no session to sign out of; revoke the key instead")
        await service.revoke_session(db_session, request.auth)
        return Response(SignedOut(signed_out=True), cookies=cleared_cookies(settings))

    @get("/me", summary="Who this request is signed in as")
    async def me(self, request: AuthRequest) -> Me:
        """The signed-in user or API key: id, kind, roles and account. 401 when the session or key is missing,
        expired or revoked."""
        return me_of(request.user)


def _users_only(principal: Principal) -> None:
    if principal.kind != "user":
        raise Forbidden("API keys cannot manage API keys")


class ApiKeyController(Controller):
    """A member manages their own account's keys; an admin sees every account's and names the account
    a new key is for."""

    path = "/api/api-keys"
    tags = ["auth"]
    guards = [account_members]

    @post(
        "/",
        summary="Create an API key; the key is shown only in this response",
        description="Members create keys for their own account; admins name it with `?account_id=`. Audited.",
        responses=problems(400, 404),
    )
    async def create(
        self, data: JSONBody[ApiKeyCreate], request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> ApiKeyCreated:
        """Members create keys for their own account; admins name the account (`account_id`). The key is
        returned once and stored only as a hash: keep it, it cannot be shown again."""
        _users_only(request.user)
        account = target_account(request.user, account_id)
        row, key = await people.create_key(db_session, actor=request.user.label, account_id=account, name=data.name)
        return ApiKeyCreated(id=row.id, name=row.name, prefix=row.prefix, key=key)

    @get(
        "/",
        summary="API keys with their last use (never the keys themselves)",
        description="A member sees their account's keys; an admin every account's, or one account's with "
        "`?account_id=`. `last_used_at` is exact to the minute.",
    )
    async def list_keys(
        self, request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> list[ApiKeyView]:
        _users_only(request.user)
        scope = account_scope(request.user)
        return await people.list_keys(db_session, scope if scope is not None else account_id)

    @delete(
        "/{key_id:uuid}",
        status_code=HTTP_200_OK,
        summary="Revoke an API key",
        description="The key stops working at once. Revoking a revoked key changes nothing. Audited.",
        responses=problems(404),
    )
    async def revoke(self, key_id: FromPath[UUID], request: AuthRequest, db_session: DbSession) -> ApiKeyRevoked:
        _users_only(request.user)
        row = await people.revoke_key(
            db_session, actor=request.user.label, key_id=key_id, account_id=account_scope(request.user)
        )
        return ApiKeyRevoked(revoked_at=row.revoked_at)


def user_view(person: people.Person) -> UserView:
    return view(UserView, person)


class UserController(Controller):
    """People, for admins: create, change roles, disable, reset a password, lift a lockout. Every change is audited."""

    path = "/api/users"
    tags = ["people"]
    guards = [staff_only]

    @get(
        "/",
        summary="Users, by email",
        description="Paginated. `locked` says the failed-login lockout holds the user now (`POST .../unlock` lifts it).",
    )
    async def list_users(
        self, db_session: DbSession, settings: AppSettings, page: PageParam
    ) -> OffsetPagination[UserView]:
        found, total = await people.list_people(db_session, page, Lockout.of(settings))
        return OffsetPagination(items=[user_view(p) for p in found], limit=page.limit, offset=page.offset, total=total)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a user",
        description="Roles: admin, privacy_staff, auditor, or member (members name their `account`, created if new; "
        "staff name none). The password needs 12 characters. Audited.",
        responses=problems(409, 422),
    )
    async def create_user(
        self, data: JSONBody[UserCreate], request: AuthRequest, db_session: DbSession, settings: AppSettings
    ) -> UserView:
        user = await people.create_person(
            db_session,
            actor=request.user.label,
            email=data.email,
            password=data.password,
            roles=data.roles,
            account=data.account,
        )
        return user_view(await people.person(db_session, user.id, Lockout.of(settings)))

    @get("/{user_id:uuid}", summary="One user", description="As in the list.", responses=problems(404))
    async def show_user(self, user_id: FromPath[UUID], db_session: DbSession, settings: AppSettings) -> UserView:
        return user_view(await people.person(db_session, user_id, Lockout.of(settings)))

    @patch(
        "/{user_id:uuid}",
        summary="Change a user's roles or disable/enable them",
        description="A merge: `roles` replaces the roles, `active: false` disables the user and ends their sessions. "
        "Nobody removes their own admin role or disables themselves (409). Audited.",
        responses=problems(404, 409, 422),
    )
    async def change_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserChange],
        request: AuthRequest,
        db_session: DbSession,
        settings: AppSettings,
    ) -> UserView:
        user = await people.user_by_id(db_session, user_id)
        await people.update_person(
            db_session, user, actor=request.user.label, actor_id=request.user.id, roles=data.roles, active=data.active
        )
        return user_view(await people.person(db_session, user_id, Lockout.of(settings)))

    @post(
        "/{user_id:uuid}/password",
        status_code=HTTP_204_NO_CONTENT,
        summary="Set a new password for a user",
        description="Every session the user had ends (they sign in again with the new password). Audited.",
        responses=problems(404, 422),
    )
    async def reset_password(
        self, user_id: FromPath[UUID], data: JSONBody[PasswordSet], request: AuthRequest, db_session: DbSession
    ) -> None:
        user = await people.user_by_id(db_session, user_id)
        await people.reset_password(db_session, user, actor=request.user.label, password=data.password)

    @post(
        "/{user_id:uuid}/unlock",
        status_code=HTTP_204_NO_CONTENT,
        summary="Lift the failed-login lockout of a user",
        description="The failed logins counted against the user's email are forgotten. Audited.",
        responses=problems(404),
    )
    async def unlock(
        self, user_id: FromPath[UUID], request: AuthRequest, db_session: DbSession, settings: AppSettings
    ) -> None:
        user = await people.user_by_id(db_session, user_id)
        await people.unlock(db_session, user, actor=request.user.label, secret=settings.jwt_secret)

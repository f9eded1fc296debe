"""Auth routes: login, logout, me, and account API keys. Thin: rules live in auth.service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from auth import service
from auth.guards import account_members, account_scope, target_account
from auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyView,
    AuthRequest,
    LoginRequest,
    LoginResponse,
    Me,
    Principal,
    SessionToken,
    SignedOut,
)
from auth.security import cleared_cookies, csrf_token_for, session_cookies
from governance.core.errors import BadRequest, Forbidden
from governance.core.params import AppSettings, DbSession
from governance.core.problems import problems
from governance.core.proxies import client_of
from governance.core.schemas import view, views

# Per client address (`client_of`: behind a trusted proxy, the address it forwarded), beside the
# per-email failure count: slows spraying many emails from one host.
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
        summary="Sign in; sets the ms_access and ms_csrf cookies",
        description="Wrong password and unknown email get the same 401; repeated failures for one email, or too "
        "many attempts from one client, get 429 with Retry-After.",
        responses=problems(401, 429),
    )
    async def login(
        self, data: JSONBody[LoginRequest], db_session: DbSession, settings: AppSettings
    ) -> Response[LoginResponse]:
        user = await service.authenticate(
            db_session,
            email=data.email,
            password=data.password,
            secret=settings.jwt_secret,
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_window_seconds,
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
        summary="Sign out: revokes the session and clears both cookies",
        description="Only sessions sign out; an API key is revoked instead (400).",
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
    """A member manages their own account's keys; an admin names the account."""

    path = "/api/api-keys"
    tags = ["auth"]
    guards = [account_members]

    @staticmethod
    def _account(principal: Principal, account_id: UUID | None) -> UUID:
        _users_only(principal)
        return target_account(principal, account_id)

    @post("/", summary="Create an API key; the key is shown only in this response", responses=problems(404))
    async def create(
        self, data: JSONBody[ApiKeyCreate], request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> ApiKeyCreated:
        """Members create keys for their own account; admins name the account (`account_id`). The key is
        returned once and stored only as a hash: keep it, it cannot be shown again."""
        account = self._account(request.user, account_id)
        row, key = await service.create_api_key(db_session, account_id=account, name=data.name)
        return ApiKeyCreated(id=row.id, name=row.name, prefix=row.prefix, key=key)

    @get("/", summary="The account's API keys (never the keys themselves)")
    async def list_keys(
        self, request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> list[ApiKeyView]:
        """Name, prefix, creation and revocation of each key of the account; never the key itself."""
        return views(ApiKeyView, await service.list_api_keys(db_session, self._account(request.user, account_id)))

    @delete("/{key_id:uuid}", status_code=HTTP_200_OK, summary="Revoke an API key", responses=problems(404))
    async def revoke(self, key_id: FromPath[UUID], request: AuthRequest, db_session: DbSession) -> ApiKeyRevoked:
        """The key stops working at once; revoking is kept in the list with its instant. Another account's
        key is a 404."""
        _users_only(request.user)
        row = await service.revoke_api_key(db_session, key_id=key_id, account_id=account_scope(request.user))
        return ApiKeyRevoked(revoked_at=row.revoked_at)

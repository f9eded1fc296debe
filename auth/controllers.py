"""Auth routes: login, logout, me, and account API keys. Thin: rules live in auth.service."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import ClientException, NotAuthorizedException, NotFoundException, TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from auth import service
from auth.guards import account_members, account_scope, target_account
from auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyView,
    LoginRequest,
    LoginResponse,
    Me,
    Principal,
    SessionToken,
)
from auth.security import cleared_cookies, csrf_token_for, session_cookies
from governance.settings import Settings

# Per client address, beside the per-email failure count: slows spraying many emails from one host.
LOGIN_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 30), store="login_rate_limit")


def me_of(principal: Principal) -> Me:
    return Me(
        id=principal.id,
        kind=principal.kind,
        roles=principal.roles,
        account_id=principal.account_id,
        email=principal.email,
    )


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/login",
        status_code=HTTP_200_OK,
        middleware=[LOGIN_RATE_LIMIT.middleware],
        summary="Sign in; sets the ms_access and ms_csrf cookies",
    )
    async def login(self, data: LoginRequest, db_session: AsyncSession, settings: Settings) -> Response[LoginResponse]:
        try:
            user = await service.authenticate(
                db_session,
                email=data.email,
                password=data.password,
                secret=settings.jwt_secret,
                max_failures=settings.login_max_failures,
                window_seconds=settings.login_window_seconds,
            )
        except service.TooManyFailedLogins as exc:
            await db_session.commit()
            raise TooManyRequestsException(str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
        except service.InvalidCredentials as exc:
            await db_session.commit()  # the failure counts even though the request fails
            raise NotAuthorizedException(str(exc)) from exc
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

    @post("/logout", status_code=HTTP_200_OK, summary="Sign out: revokes the session and clears both cookies")
    async def logout(
        self, request: Request[Principal, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Response[dict]:
        if not isinstance(request.auth, SessionToken):
            raise ClientException("API keys have no session to sign out of; revoke the key instead")
        await service.revoke_session(db_session, request.auth)
        return Response({"signed_out": True}, cookies=cleared_cookies(settings))

    @get("/me", summary="Who this request is signed in as")
    async def me(self, request: Request[Principal, Any, Any]) -> Me:
        return me_of(request.user)


def _users_only(principal: Principal) -> None:
    if principal.kind != "user":
        raise NotAuthorizedException("API keys cannot manage API keys")


class ApiKeyController(Controller):
    """A member manages their own account's keys; an admin names the account."""

    path = "/api/api-keys"
    tags = ["auth"]
    guards = [account_members]

    @staticmethod
    def _account(principal: Principal, account_id: UUID | None) -> UUID:
        _users_only(principal)
        return target_account(principal, account_id)

    @post("/", summary="Create an API key; the key is shown only in this response")
    async def create(
        self,
        data: ApiKeyCreate,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        account_id: UUID | None = None,
    ) -> ApiKeyCreated:
        account = self._account(request.user, account_id)
        try:
            row, key = await service.create_api_key(db_session, account_id=account, name=data.name)
        except service.AuthError as exc:
            raise NotFoundException(str(exc)) from exc
        return ApiKeyCreated(id=row.id, name=row.name, prefix=row.prefix, key=key)

    @get("/", summary="The account's API keys (never the keys themselves)")
    async def list_keys(
        self, request: Request[Principal, Any, Any], db_session: AsyncSession, account_id: UUID | None = None
    ) -> list[ApiKeyView]:
        rows = await service.list_api_keys(db_session, self._account(request.user, account_id))
        return [
            ApiKeyView(
                id=r.id,
                name=r.name,
                prefix=r.prefix,
                created_at=r.created_at,
                revoked_at=r.revoked_at,
                last_used_at=r.last_used_at,
            )
            for r in rows
        ]

    @delete("/{key_id:uuid}", status_code=HTTP_200_OK, summary="Revoke an API key")
    async def revoke(
        self, key_id: UUID, request: Request[Principal, Any, Any], db_session: AsyncSession
    ) -> dict[str, datetime | None]:
        _users_only(request.user)
        row = await service.revoke_api_key(db_session, key_id=key_id, account_id=account_scope(request.user))
        if row is None:
            raise NotFoundException("no such API key")
        return {"revoked_at": row.revoked_at}

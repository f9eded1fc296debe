"""Session cookies, CSRF double-submit and the authentication middleware.

Litestar's JWTCookieAuth does the JWT work (decode, `alg` pinning, expiry, exclusions,
OpenAPI). Written here by hand, because the built-ins cannot:
- API keys share the `Authorization: Bearer` header with JWTs;
- a Bearer request must never fall back to cookies, and needs no CSRF token;
- CSRFConfig has no Max-Age (ours is declared as 30 days), cannot skip Bearer requests,
  and does not bind its token to the session: ours is HMAC(secret, jti), so a cookie
  planted by a sibling subdomain cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from litestar.datastructures import Cookie
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware

from auth import service
from auth.schemas import Principal, SessionToken
from governance.core.db import request_session
from governance.core.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.connection import ASGIConnection

    from governance.core.settings import Settings

ACCESS_COOKIE = "ms_access"
CSRF_COOKIE = "ms_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Always public; other public handlers say so themselves with `exclude_from_auth=True`.
PUBLIC_PATHS = [r"^/health$", r"^/schema", r"^/auth/login$"]


def csrf_token_for(secret: str, jti: str) -> str:
    digest = hmac.new(secret.encode(), f"csrf:{jti}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def session_cookies(settings: Settings, encoded_jwt: str, csrf_token: str) -> list[Cookie]:
    """The two cookies a login sets, exactly as the policy declares them."""
    max_age = int(service.SESSION_LIFETIME.total_seconds())
    common: dict[str, Any] = {"path": "/", "samesite": "lax", "secure": settings.cookie_secure, "max_age": max_age}
    return [
        Cookie(key=ACCESS_COOKIE, value=encoded_jwt, httponly=True, **common),
        Cookie(key=CSRF_COOKIE, value=csrf_token, httponly=False, **common),
    ]


def cleared_cookies(settings: Settings) -> list[Cookie]:
    """Deletions with the same attributes as the cookies they remove."""
    return [
        Cookie(key=c.key, value="", httponly=c.httponly, path=c.path, samesite=c.samesite, secure=c.secure, max_age=0)
        for c in session_cookies(settings, "", "")
    ]


class SessionAuthMiddleware(JWTCookieAuthenticationMiddleware):
    """Bearer (API key or JWT, no cookies, no CSRF) first; else the `ms_access` cookie plus CSRF."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if header is not None:
            return await self._authenticate_bearer(header, connection)
        encoded = connection.cookies.get(ACCESS_COOKIE)
        if not encoded:
            raise Unauthorized("sign in first: no session cookie or Authorization header")
        result = await self.authenticate_token(encoded_token=encoded, connection=connection)
        if connection.scope.get("method") not in SAFE_METHODS:
            self._check_csrf(connection, result.auth)
        return result

    async def _authenticate_bearer(self, header: str, connection: ASGIConnection) -> AuthenticationResult:
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        if credential.startswith(service.API_KEY_PREFIX):
            lookup: PrincipalLookup = self.retrieve_user_handler  # type: ignore[assignment]
            principal = await lookup.api_key(credential, connection)
            if principal is None:
                raise Unauthorized("unknown or revoked API key")
            return AuthenticationResult(user=principal, auth=None)
        return await self.authenticate_token(encoded_token=credential, connection=connection)

    def _check_csrf(self, connection: ASGIConnection, token: SessionToken) -> None:
        sent = connection.headers.get(CSRF_HEADER, "")
        cookie = connection.cookies.get(CSRF_COOKIE, "")
        expected = csrf_token_for(self.token_secret, str(token.jti))
        if not (sent and hmac.compare_digest(sent, cookie) and hmac.compare_digest(cookie, expected)):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header: send the value of the {CSRF_COOKIE} cookie")


class PrincipalLookup:
    """Who a credential belongs to, read through the request's database session."""

    def __init__(self, db: SQLAlchemyAsyncConfig) -> None:
        self.db = db

    async def __call__(self, token: SessionToken, connection: ASGIConnection) -> Principal | None:
        return await service.principal_for_session(request_session(self.db, connection), token)

    async def api_key(self, key: str, connection: ASGIConnection) -> Principal | None:
        return await service.principal_for_api_key(request_session(self.db, connection), key)


def jwt_auth(settings: Settings, db: SQLAlchemyAsyncConfig) -> JWTCookieAuth[Principal, SessionToken]:
    return JWTCookieAuth[Principal, SessionToken](
        token_secret=settings.jwt_secret,
        algorithm="HS256",
        token_cls=SessionToken,
        key=ACCESS_COOKIE,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
        retrieve_user_handler=PrincipalLookup(db),
        require_claims=["exp", "sub", "jti"],
        default_token_expiration=service.SESSION_LIFETIME,
        authentication_middleware_class=SessionAuthMiddleware,
        exclude=PUBLIC_PATHS,
        exclude_http_methods=["OPTIONS"],
        description="Session JWT in the HttpOnly ms_access cookie, or `Authorization: Bearer` (JWT or API key).",
    )

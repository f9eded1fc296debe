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
import re
from typing import TYPE_CHECKING, Any

from litestar.datastructures import Cookie
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware

from auth import service
from auth.schemas import Principal, SessionToken
from governance.core.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.handlers import HTTPRouteHandler

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
    """Who a credential belongs to, read in a short session of its own: the lookup happens before the
    body is read, and a connection held by the request's session would be held while a slow client
    sends its body (16 such requests held a whole pool)."""

    def __init__(self, db: SQLAlchemyAsyncConfig) -> None:
        self.db = db

    async def __call__(self, token: SessionToken, connection: ASGIConnection) -> Principal | None:
        async with self.db.get_session() as session:
            return await service.principal_for_session(session, token)

    async def api_key(self, key: str, connection: ASGIConnection) -> Principal | None:
        async with self.db.get_session() as session:
            principal = await service.principal_for_api_key(session, key)
            await session.commit()  # its last use, at most once a minute
            return principal


SECURITY_SCHEMES = {
    "session": SecurityScheme(
        type="apiKey",
        name=ACCESS_COOKIE,
        security_scheme_in="cookie",
        description="The session JWT that `POST /auth/login` sets (HttpOnly, SameSite=Lax, 30 days).",
    ),
    "csrf": SecurityScheme(
        type="apiKey",
        name=CSRF_HEADER,
        security_scheme_in="header",
        description=f"With the session cookie, every POST/PUT/PATCH/DELETE sends the value of the `{CSRF_COOKIE}` cookie here.",
    ),
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        description="An account's API key (`msk_...`), or the session JWT in token-in-body mode. Needs no CSRF token.",
    ),
}
READS: list[SecurityRequirement] = [{"session": []}, {"bearer": []}]
WRITES: list[SecurityRequirement] = [{"session": [], "csrf": []}, {"bearer": []}]
ANYONE: list[SecurityRequirement] = [{}]  # OpenAPI's way to say: no credentials needed


class SessionAuth(JWTCookieAuth[Principal, SessionToken]):
    """Litestar's JWT cookie auth, documented as what it accepts: the session cookie with its CSRF header, or Bearer."""

    @property
    def openapi_components(self) -> Components:
        return Components(security_schemes=dict(SECURITY_SCHEMES))

    @property
    def security_requirement(self) -> SecurityRequirement:
        return WRITES[0]

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config = super().on_app_init(app_config)
        if app_config.openapi_config is not None:
            app_config.openapi_config.security = list(
                WRITES
            )  # the document's default; reads and public routes say otherwise
        return app_config

    def is_public(self, handler: HTTPRouteHandler, path: str) -> bool:
        return bool(handler.opt.get(self.exclude_opt_key)) or any(re.search(p, path) for p in PUBLIC_PATHS)


def jwt_auth(settings: Settings, db: SQLAlchemyAsyncConfig) -> SessionAuth:
    return SessionAuth(
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

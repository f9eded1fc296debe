"""Sign in and sign out: the same service, cookies, lockout and per-client rate limit as `POST /auth/login`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from auth import service
from auth.controllers import LOGIN_RATE_LIMIT
from auth.schemas import SessionToken
from auth.security import cleared_cookies, csrf_token_for, session_cookies
from governance.console import web
from governance.core.errors import Busy, Unauthorized
from governance.core.params import AppSettings, DbSession

MAX_FIELD = 1024  # an email or password longer than this is not one


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console path of this app (never another site)."""
    if (
        target
        and "\\" not in target
        and (target == web.PREFIX or target.startswith((f"{web.PREFIX}/", f"{web.PREFIX}?")))
    ):
        return target
    return f"{web.PREFIX}/"


class SessionController(Controller):
    path = "/"

    @get("/sign-in", exclude_from_auth=True, summary="The sign-in form")
    async def sign_in_form(
        self,
        request: HTMXRequest,
        next_path: Annotated[str | None, QueryParameter(name="next", max_length=2048)] = None,
    ) -> Template:
        return self._form(request, next_path=safe_next(next_path))

    @post(
        "/sign-in",
        exclude_from_auth=True,
        middleware=[LOGIN_RATE_LIMIT.middleware],
        status_code=303,
        summary="Sign in; sets the ms_access and ms_csrf cookies",
    )
    async def sign_in(self, request: HTMXRequest, db_session: DbSession, settings: AppSettings) -> Response[Any]:
        form = await request.form()
        email, password = str(form.get("email", ""))[:MAX_FIELD], str(form.get("password", ""))[:MAX_FIELD]
        target = safe_next(str(form.get("next", "")))
        if not email or not password:
            return self._form(
                request, next_path=target, email=email, error="Enter your email and password.", status=422
            )
        try:
            user = await service.authenticate(
                db_session,
                email=email,
                password=password,
                secret=settings.jwt_secret,
                max_failures=settings.login_max_failures,
                window_seconds=settings.login_window_seconds,
            )
        except Busy as exc:
            response = self._form(request, next_path=target, email=email, error=exc.detail, status=429)
            response.headers.update(exc.headers)
            return response
        except Unauthorized as exc:
            return self._form(request, next_path=target, email=email, error=exc.detail.capitalize() + ".", status=401)
        token = service.new_session_token(user)
        encoded = token.encode(secret=settings.jwt_secret, algorithm="HS256")
        csrf = csrf_token_for(settings.jwt_secret, str(token.jti))
        await db_session.commit()
        return Redirect(target, status_code=303, cookies=session_cookies(settings, encoded, csrf))

    @post("/sign-out", guards=[web.readers], status_code=303, summary="Sign out: revokes the session")
    async def sign_out(self, request: HTMXRequest, db_session: DbSession, settings: AppSettings) -> Response[Any]:
        if isinstance(request.auth, SessionToken):
            await service.revoke_session(db_session, request.auth)
        response = web.done(request, web.SIGN_IN)
        response.cookies.extend(cleared_cookies(settings))
        return response

    @staticmethod
    def _form(request: HTMXRequest, *, next_path: str, email: str = "", error: str = "", status: int = 200) -> Template:
        context: dict[str, Any] = {
            "next": next_path,
            "email": email,
            "error": error,
            "principal": None,
            "nav": [],
            "csrf": "",
        }
        return Template("console/sign_in.html.j2", context=context, status_code=status)

"""What every console page shares: the roles, the page response, redirects, the CSP, and error pages.

A console page is a Litestar controller in `governance/console/pages/<name>.py` that calls the same
service as the JSON API and answers `page(request, "console/<name>.html.j2", active="<name>", ...)`.
Mutating routes are POSTs sent by htmx (the `X-CSRF-Token` header comes from `hx-headers` on
<body>), guarded by `editors`; they answer `done(request, "/console/...")` (a redirect the browser
follows) or re-render their page with the problems (`status_code=422`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from auth.guards import requires_roles
from auth.models import Role
from auth.security import CSRF_COOKIE
from governance.core.errors import FieldError
from governance.core.problems import ERROR_PAGE_OPT, HTML_ERRORS, Problem

if TYPE_CHECKING:
    from auth.schemas import Principal

PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"
# Everything from this app only; no inline script, no eval, never framed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
RESPONSE_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=CSP),
    ResponseHeader(name="Cache-Control", value="no-store"),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
]
EDIT_ROLES = (Role.PRIVACY_STAFF, Role.ADMIN)

# Route guards. Members and API keys are not console users: 403 page.
readers = requires_roles(Role.AUDITOR, Role.PRIVACY_STAFF, Role.ADMIN)
editors = requires_roles(*EDIT_ROLES)
admins = requires_roles(Role.ADMIN)


@dataclass(frozen=True)
class NavItem:
    key: str  # the `active=` a page passes
    label: str
    href: str
    roles: tuple[Role, ...] = (Role.AUDITOR, Role.PRIVACY_STAFF, Role.ADMIN)  # who sees the entry


# The console's navigation, in order. A new page adds one line here.
NAV: list[NavItem] = [
    NavItem("home", "Home", f"{PREFIX}/"),
    NavItem("policy", "Policy", f"{PREFIX}/policy"),
    NavItem("drift", "Drift", f"{PREFIX}/drift"),
    NavItem("inventory", "Inventory", f"{PREFIX}/inventory"),
    NavItem("audit", "Audit log", f"{PREFIX}/audit"),
    NavItem("retention", "Retention", f"{PREFIX}/retention"),
    NavItem("reports", "Reports", f"{PREFIX}/reports"),
    NavItem("people", "People", f"{PREFIX}/people", roles=(Role.ADMIN,)),
]


def can_edit(principal: Principal | None) -> bool:
    return principal is not None and principal.has_any_role(*EDIT_ROLES)


def base_context(request: HTMXRequest, active: str) -> dict[str, Any]:
    """What the base template needs: who is signed in, what they may do, the CSRF token for htmx."""
    principal: Principal | None = request.scope.get("user")
    return {
        "principal": principal,
        "can_edit": can_edit(principal),
        "is_admin": principal is not None and principal.has_any_role(Role.ADMIN),
        "csrf": request.cookies.get(CSRF_COOKIE, ""),
        "nav": [item for item in NAV if principal is not None and principal.has_any_role(*item.roles)],
        "active": active,
        "path": request.url.path,
    }


def page(request: HTMXRequest, template: str, *, active: str, status_code: int = 200, **context: Any) -> Template:
    """A console page: `template` extends console/base.html.j2."""
    return Template(template, context={**base_context(request, active), **context}, status_code=status_code)


def done(request: HTMXRequest, location: str) -> Response[Any]:
    """After a successful POST: htmx navigates to `location` (HX-Redirect), a plain client gets a 303."""
    if request.htmx:
        return Response(None, status_code=200, headers={"HX-Redirect": location})
    return Redirect(location, status_code=HTTP_303_SEE_OTHER)


def field_errors(errors: list[FieldError]) -> dict[str, list[str]]:
    """Problems keyed by their field path (`declarations[3].purpose`), for showing next to each field."""
    keyed: dict[str, list[str]] = {}
    for error in errors:
        keyed.setdefault(error.field or "", []).append(error.detail)
    return keyed


def utc(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def sign_in_location(request: HTMXRequest) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGN_IN}?next={quote(target, safe='')}"


def error_page(request: Request[Any, Any, Any], problem: Problem) -> Response[Any]:
    """Console errors as console pages (the app maps every error once, then asks this route for its page);
    not signed in: to the sign-in page, whose `next` brings the reader back."""
    request = request if isinstance(request, HTMXRequest) else HTMXRequest(request.scope)
    status = problem.status_code
    if status == 401:
        location = sign_in_location(request) if request.method == "GET" else SIGN_IN
        if request.htmx:
            return Response(None, status_code=200, headers={"HX-Redirect": location})
        return Redirect(location, status_code=HTTP_303_SEE_OTHER)
    response = page(
        request,
        "console/error.html.j2",
        active="",
        status_code=status,
        status=status,
        title=problem.title,
        detail=problem.detail,
        errors=problem.errors,
    )
    response.headers.update(problem.headers or {})
    for header in RESPONSE_HEADERS:  # set by the router on its handlers' responses, not on the app's error answers
        response.headers[header.name] = header.value or ""
    return response


ROUTER_OPT = {**HTML_ERRORS, ERROR_PAGE_OPT: error_page}

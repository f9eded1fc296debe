"""Guards: a route declares the roles it needs; account scoping for members and API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import UUID

from auth.models import Role
from governance.core.errors import BadRequest, Forbidden, NotFound, Unauthorized, UnsupportedMediaType
from governance.core.plugin import settings_of

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Guard

    from auth.schemas import Principal


def requires_roles(*roles: Role) -> Guard:
    """A guard admitting principals holding any of `roles`; everyone else gets 403."""
    names = ", ".join(role.value for role in roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # Litestar's own answer (the Allow header); the auth layer steps aside for it too
        principal = connection.scope.get("user")
        if principal is None:
            raise Unauthorized("sign in first: no session cookie or Authorization header")
        if not principal.has_any_role(*roles):
            raise Forbidden(f"this needs one of the roles: {names}")

    guard.__name__ = f"requires_{'_or_'.join(role.value for role in roles)}"
    return guard


staff_only = requires_roles(Role.ADMIN)
privacy_staff = requires_roles(Role.PRIVACY_STAFF, Role.ADMIN)
auditors = requires_roles(Role.AUDITOR, Role.PRIVACY_STAFF, Role.ADMIN)
account_members = requires_roles(Role.MEMBER, Role.MACHINE, Role.ADMIN)


def ensure_account_access(principal: Principal, account_id: UUID | None, what: str = "resource") -> None:
    """Members and API keys reach only their own account's data; anything else is a 404, not a 403,
    so the existence of other accounts' resources is not revealed. Admins reach every account."""
    if principal.has_any_role(Role.ADMIN):
        return
    if account_id is None or principal.account_id != account_id:
        raise NotFound(f"no such {what}")


def account_scope(principal: Principal) -> UUID | None:
    """The account a member or API key acts for; None for admins (every account)."""
    return None if principal.has_any_role(Role.ADMIN) else principal.account_id


def target_account(principal: Principal, account_id: UUID | None) -> UUID:
    """The account a new resource belongs to: the caller's own, or the one an admin names."""
    if principal.has_any_role(Role.ADMIN):
        if account_id is None:
            raise BadRequest("admins must say which account: ?account_id=")
        return account_id
    if principal.account_id is None:
        raise Forbidden("this principal acts for no account")
    return principal.account_id


# --- requests a browser sends for another site ----------------------------------------------------


def _trusted_origin(connection: ASGIConnection, origin: str) -> bool:
    """This service itself (its public URL, or the Host the request names: a proxy may rewrite it)
    or a configured dashboard origin (MS_CORS_ORIGINS)."""
    settings = settings_of(connection.app)
    netloc = urlsplit(origin).netloc.lower()
    return (
        origin in settings.cors_origins
        or netloc == urlsplit(settings.public_base_url).netloc.lower()
        or netloc == connection.headers.get("host", "").lower()
    )


def same_origin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Sign-in and sign-out: no other site may sign a browser in (login CSRF) or out. A browser names
    the page's origin on every POST; clients without one (curl, the sending pipeline) send neither
    header and pass."""
    origin = connection.headers.get("origin")
    if origin is not None:
        if origin == "null" or not _trusted_origin(connection, origin):
            raise Forbidden(f"requests from {origin} may not sign in or out here")
    elif connection.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("requests from another site may not sign in or out here")


def json_body_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A `text/plain` or form body is what a cross-site form can send without a preflight: refuse it."""
    media_type = connection.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(f"send the body as application/json, not {media_type or 'no content type'}")


def not_cross_site(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """GETs that write the audit log (exports): a link on another site must not make a signed-in
    browser run one (the session cookie is SameSite=Lax, so it goes along on a top-level GET)."""
    if connection.headers.get("sec-fetch-site") != "cross-site":
        return
    origin = connection.headers.get("origin")
    if origin is None or not _trusted_origin(connection, origin):
        raise Forbidden("this export is recorded in the audit log: open it from this service, not another site")

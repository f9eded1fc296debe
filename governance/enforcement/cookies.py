"""Set-Cookie parsing and the rules a cookie must meet to agree with its declaration.

Parsed by hand: `http.cookies.SimpleCookie` rejects or silently drops headers that browsers
accept, and the guard must judge exactly what a browser would store.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime

from policy_docs.schemas import Declaration

# An Expires date is computed from the server's clock; allow it this much slack over the declared duration.
EXPIRES_SLACK_SECONDS = 120


class SetCookie:
    __slots__ = ("attributes", "name")

    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name = name
        self.attributes = attributes  # lower-cased attribute names; flags map to ""

    def lifetime(self, now: float) -> float | None:
        """Seconds the browser keeps the cookie (<= 0: deletion), or None for a session cookie.
        Max-Age wins over Expires (RFC 6265 5.3)."""
        max_age = self.attributes.get("max-age")
        if max_age is not None:
            try:
                return int(max_age)
            except ValueError:
                pass  # browsers ignore a malformed Max-Age
        expires = self.attributes.get("expires")
        if expires:
            try:
                when = parsedate_to_datetime(expires)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return when.timestamp() - now
        return None

    def is_deletion(self, now: float) -> bool:
        lifetime = self.lifetime(now)
        return lifetime is not None and lifetime <= 0


def parse_set_cookie(header: str) -> SetCookie:
    pair, _, rest = header.partition(";")
    attributes: dict[str, str] = {}
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key:
            attributes[key] = value.strip()
    return SetCookie(pair.partition("=")[0].strip(), attributes)


def mismatches(
    declaration: Declaration, cookie: SetCookie, *, now: float, require_secure: bool
) -> list[tuple[str, str]]:
    """(reason, detail) for every attribute that disagrees with the declaration; empty when compliant.
    A `None` attribute in the declaration is not pinned (e.g. Secure is then the deployment's call)."""
    found: list[tuple[str, str]] = []
    attrs = cookie.attributes
    if declaration.http_only is not None and ("httponly" in attrs) != declaration.http_only:
        found.append(("http_only", f"HttpOnly must be {'set' if declaration.http_only else 'absent'}"))
    if (declaration.secure or require_secure) and "secure" not in attrs:
        found.append(("secure", "Secure is required"))
    if declaration.same_site is not None and attrs.get("samesite", "").lower() != declaration.same_site:
        found.append(("same_site", f"SameSite must be {declaration.same_site.capitalize()}"))
    if (
        declaration.domain is not None
        and attrs.get("domain", "").lstrip(".").lower() != declaration.domain.lstrip(".").lower()
    ):
        found.append(("domain", f"Domain must be {declaration.domain}"))
    if declaration.path is not None and attrs.get("path", "") != declaration.path:
        found.append(("path", f"Path must be {declaration.path}"))
    found.extend(_duration_mismatch(declaration, cookie, now))
    return found


def _duration_mismatch(declaration: Declaration, cookie: SetCookie, now: float) -> list[tuple[str, str]]:
    duration, lifetime = declaration.duration, cookie.lifetime(now)
    if lifetime is None or duration.kind == "persistent":
        return []  # a session cookie is always shorter than what is declared
    if duration.kind == "session":
        return [("duration", "declared as a session cookie: no Max-Age or Expires")]
    limit = duration.seconds or 0
    slack = 0 if "max-age" in cookie.attributes else EXPIRES_SLACK_SECONDS
    if lifetime > limit + slack:
        return [("duration", f"lives {int(lifetime)}s, declared at most {limit}s ({duration.text})")]
    return []

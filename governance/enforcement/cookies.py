"""Set-Cookie parsing and the rules a cookie must meet to agree with its declaration.

Parsed by hand: `http.cookies.SimpleCookie` rejects or silently drops headers that browsers
accept, and the guard must judge exactly what a browser would store.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from policy_docs.schemas import Declaration

# An Expires date is computed from the server's clock; allow it this much slack over the declared duration.
EXPIRES_SLACK_SECONDS = 120


# RFC 6265 5.2: what a browser trims around names and values is space and tab, nothing else
# (a trailing U+00A0 is part of the name: `ms_csrf\xa0` is another cookie, not ours).
WSP = " \t"
_DELTA_SECONDS = re.compile(r"-?[0-9]+")  # RFC 6265 5.2.2: `+0`, ` 1`, `1_0`, `٣` are ignored, not 0 or 10
_DATE_DELIMITERS = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?", re.DOTALL)
_DAY = re.compile(r"([0-9]{1,2})(?:[^0-9].*)?", re.DOTALL)
_YEAR = re.compile(r"([0-9]{2,4})(?:[^0-9].*)?", re.DOTALL)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def cookie_date(text: str) -> float | None:
    """An Expires value as a browser reads it (RFC 6265 5.1.1), as a POSIX timestamp; None when a
    browser would ignore it (then the cookie is a session cookie, not a deletion)."""
    time = day = month = year = None
    for token in _DATE_DELIMITERS.split(text):
        if time is None and (found := _TIME.fullmatch(token)):
            time = tuple(int(part) for part in found.groups())
        elif day is None and (found := _DAY.fullmatch(token)):
            day = int(found.group(1))
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS.index(token[:3].lower()) + 1
        elif year is None and (found := _YEAR.fullmatch(token)):
            year = int(found.group(1))
    if time is None or day is None or month is None or year is None:
        return None
    year += 1900 if 70 <= year <= 99 else 2000 if year <= 69 else 0
    hour, minute, second = time
    if not (1 <= day <= 31 and year >= 1601 and hour <= 23 and minute <= 59 and second <= 59):
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError:  # 31 April, 30 February: no such day
        return None


class SetCookie:
    __slots__ = ("attributes", "name")

    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name = name
        self.attributes = attributes  # lower-cased attribute names; flags map to ""

    def max_age(self) -> int | None:
        """The Max-Age a browser obeys, or None when there is none or it is malformed (then ignored)."""
        value = self.attributes.get("max-age")
        return int(value) if value is not None and _DELTA_SECONDS.fullmatch(value) else None

    def lifetime(self, now: float) -> float | None:
        """Seconds the browser keeps the cookie (<= 0: deletion), or None for a session cookie.
        A valid Max-Age wins over Expires (RFC 6265 5.3)."""
        max_age = self.max_age()
        if max_age is not None:
            return max_age
        expires = self.attributes.get("expires")
        when = cookie_date(expires) if expires else None
        return None if when is None else when - now

    def is_deletion(self, now: float) -> bool:
        lifetime = self.lifetime(now)
        return lifetime is not None and lifetime <= 0


def parse_set_cookie(header: str) -> SetCookie:
    """Name and attributes as a browser splits them (RFC 6265bis 5.6): a pair without `=` is a value
    with an empty name; names, values and attributes are trimmed of spaces and tabs only."""
    pair, _, rest = header.partition(";")
    attributes: dict[str, str] = {}
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        key = key.strip(WSP).lower()
        if key:
            attributes[key] = value.strip(WSP)  # a repeated attribute: the last one counts
    name, has_value, _ = pair.partition("=")
    return SetCookie(name.strip(WSP) if has_value else "", attributes)


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
    slack = 0 if cookie.max_age() is not None else EXPIRES_SLACK_SECONDS
    if lifetime > limit + slack:
        return [("duration", f"lives {int(lifetime)}s, declared at most {limit}s ({duration.text})")]
    return []

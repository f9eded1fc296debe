"""URL reduction: what of a page address may be stored.

Only the path and a few allowed query keys survive; everything else (email addresses in
`?email=`, reset tokens, session ids) is dropped before it reaches the database. Path
segments that look like an email address or an opaque token are masked too, because some
links carry them in the path (`/unsubscribe/bob@example.com`, `/reset/eyJhbGciOi...`).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, quote_plus, unquote, urlencode, urlsplit

ALLOWED_QUERY_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_PATH = 512  # the path columns' length, in characters
# Each kept value, percent-encoded, so that all five with their keys fit the 512-character query column.
MAX_QUERY_VALUE = 90

_HEX_ID = re.compile(r"(?=.*\d)[0-9a-fA-F-]{16,}")  # uuids, hashes
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")
_MIXED_TOKEN = re.compile(r"(?=.*\d)(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_\-.~]{24,}")  # base64url tokens, JWTs


class BadUrl(ValueError):
    """The value is not an http(s) URL or an absolute path."""


def _mask(segment: str) -> str:
    text = unquote(segment)
    if "@" in text:
        return ":email"
    if _HEX_ID.fullmatch(text) or _MIXED_TOKEN.fullmatch(text):
        return ":id"
    return segment


def _split(raw: str) -> SplitResult:
    """urlsplit, with what it refuses (`http://[`, a bad IPv6 literal) as BadUrl."""
    try:
        raw.encode()  # a lone surrogate is no text a URL can hold
        parts = urlsplit(raw.strip())
        parts.hostname  # noqa: B018  (parsing the host is what raises for `[...]` that is no address)
    except ValueError as exc:  # UnicodeEncodeError is one
        raise BadUrl("is not a well-formed URL") from exc
    return parts


def _clip(value: str) -> str:
    """The longest start of `value` whose percent-encoded form fits MAX_QUERY_VALUE."""
    value = value[:MAX_QUERY_VALUE]
    while len(quote_plus(value)) > MAX_QUERY_VALUE:
        value = value[:-1]
    return value


def reduce_url(raw: str) -> tuple[str, str | None]:
    """`https://x/a/b?utm_source=n&email=e#f` -> (`/a/b`, `utm_source=n`)."""
    parts = _split(raw)
    if parts.scheme not in ("", "http", "https"):
        raise BadUrl("must be an http(s) URL or a path starting with /")
    path = parts.path or "/"
    if not path.startswith("/"):
        raise BadUrl("must be an http(s) URL or a path starting with /")
    path = "/".join(_mask(segment) for segment in path.split("/"))[:MAX_PATH]
    kept = dict(parse_qsl(parts.query))
    query = urlencode([(key, _clip(kept[key])) for key in ALLOWED_QUERY_KEYS if kept.get(key)])
    return path, query or None


def referrer_host(raw: str | None) -> str | None:
    """The host of an http(s) referrer, nothing else (`https://news.example/p?id=1` -> `news.example`)."""
    if not raw:
        return None
    raw = raw.strip()
    if "://" not in raw and _HOST.fullmatch(raw):  # what the snippet sends: `new URL(referrer).host`
        raw = f"https://{raw}"
    parts = _split(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUrl("must be an http(s) URL or a host name")
    return parts.hostname[:255]

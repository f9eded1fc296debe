"""Responses encoded once and replayed, and conditional GET (ETag / Last-Modified, RFC 9110).

Written by hand because Litestar's Response rebuilds and checks its headers on every request,
which costs more than everything else the hot routes (tracking pixel, policy page) do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING

from litestar.response.base import ASGIResponse

if TYPE_CHECKING:
    from litestar.types import Receive, Scope, Send

RawHeaders = list[tuple[bytes, bytes]]
BODILESS = frozenset({204, 304})


def raw_headers(headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    if isinstance(headers, Mapping):
        return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]
    return list(headers)


class ReadyResponse(ASGIResponse):
    """Status, headers and body encoded up front; each send gets a fresh header list (a middleware,
    such as the Set-Cookie guard, may edit it)."""

    __slots__ = ("_body", "_headers", "_status")

    def __init__(  # no super().__init__: nothing of ASGIResponse's state is used
        self, status: int, headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]], body: bytes = b""
    ) -> None:
        self._status = status
        self._headers = raw_headers(headers)
        if status not in BODILESS:  # a 304 must not announce a length other than the 200's
            self._headers.append((b"content-length", str(len(body)).encode()))
        self._body = body

    def with_header(self, name: bytes, value: str) -> ReadyResponse:
        """A copy with one more header (a redirect's Location), without encoding the rest again."""
        copy = object.__new__(ReadyResponse)
        copy._status, copy._body = self._status, self._body
        copy._headers = [*self._headers, (name, value.encode("latin-1"))]
        return copy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self._status, "headers": list(self._headers)})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def is_not_modified(scope: Scope, etag: str, last_modified: datetime | None = None) -> bool:
    """RFC 9110 13.1: If-None-Match wins when present; else If-Modified-Since."""
    if_none_match = if_modified_since = None
    for name, value in scope["headers"]:  # a raw scan: cheaper than building a Headers object
        if name == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif name == b"if-modified-since":
            if_modified_since = value.decode("latin-1")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since and last_modified is not None:
        try:
            return last_modified <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, OverflowError):
            return False
    return False


@dataclass(frozen=True)
class CachedDocument:
    """One representation, encoded once with its 200 and 304 answers."""

    body: bytes
    etag: str
    last_modified: datetime | None
    ok: ReadyResponse
    not_modified: ReadyResponse

    @classmethod
    def of(
        cls, body: bytes, media_type: str, headers: Mapping[str, str], last_modified: datetime | None = None
    ) -> CachedDocument:
        etag = etag_of(body)
        common = {"ETag": etag, **headers}
        if last_modified is not None:
            last_modified = last_modified.replace(microsecond=0)
            common["Last-Modified"] = format_datetime(last_modified, usegmt=True)
        return cls(
            body=body,
            etag=etag,
            last_modified=last_modified,
            ok=ReadyResponse(200, {"Content-Type": media_type, **common}, body),
            not_modified=ReadyResponse(304, common),
        )

    def respond(self, scope: Scope) -> ReadyResponse:
        """The document, or a 304 when the client holds it already."""
        return self.not_modified if is_not_modified(scope, self.etag, self.last_modified) else self.ok

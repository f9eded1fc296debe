"""The request class of the app: decoded JSON is bounded in depth.

msgspec decodes nested JSON recursively: a body of 1,000 nested arrays raised RecursionError (a 500)
on every public POST. No body of this API nests deeper than a few levels. The bound is checked on
the decoded value, container by container: a 5 MB HTML body is one string, so it costs nothing
(scanning its bytes for brackets took 23 ms of the event loop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from litestar import Request

from governance.core.errors import BadRequest, FieldError

if TYPE_CHECKING:
    from litestar.types import Scope

MAX_JSON_DEPTH = 32
WALK_FREELY = 1_000  # children; past that, counting the body's brackets (3 ms per 5 MB) may spare the walk
T = TypeVar("T")


def request_path(scope: Scope) -> str:
    """The path the client asked for. Litestar hands a mounted handler (the tracking routes, static
    files) only the rest of it in `scope["path"]`; the whole path stays in `raw_path`."""
    if getattr(scope.get("route_handler"), "is_mount", False):
        return unquote(scope["raw_path"].decode("latin-1"))
    return scope.get("path", "")


def too_deep(limit: int = MAX_JSON_DEPTH) -> BadRequest:
    problem = f"JSON nested more than {limit} levels deep"
    return BadRequest(problem, errors=[FieldError(None, problem)])


def check_json_depth(value: Any, body: bytes = b"", limit: int = MAX_JSON_DEPTH) -> None:
    """A 400 for a decoded value with more than `limit` nested arrays or objects; linear in containers.
    With the `body` it was decoded from, a long flat array is not walked: too few brackets to nest."""
    containers = [value] if type(value) in (dict, list) else []
    for depth in range(1, limit + 2):
        if not containers:
            return
        if depth > limit:
            raise too_deep(limit)
        if body and sum(map(len, containers)) > WALK_FREELY:
            if body.count(b"[") + body.count(b"{") <= limit:
                return
            body = b""
        containers = [
            child
            for node in containers
            for child in (node.values() if type(node) is dict else node)
            if type(child) in (dict, list)
        ]


def decode_bounded(decode: Callable[[], T], limit: int = MAX_JSON_DEPTH) -> T:
    """`decode()`, with JSON too deep for the decoder's recursion (or for `limit`) a 400, not a 500."""
    try:
        value = decode()
    except RecursionError:
        raise too_deep(limit) from None
    check_json_depth(value, limit=limit)
    return value


class BoundedRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise too_deep() from None
        check_json_depth(value, await self.body())
        return value

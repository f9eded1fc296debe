"""The routes recipients' mail clients hit: `/t/o/{token}.gif` and `/t/c/{token}`.

Public, no database read: they verify the token, reduce the request to a client class, wait until
the hit is durable in the local spool (the group commit of tracking.spool: one fsync for every hit
that joined the group) and answer with a response encoded once. They wait for the disk, never for
the database, and at most `Spool.answer_within` seconds.

They are ASGI route handlers (Litestar's `@asgi`, mounted at `/t/o` and `/t/c`): the app's
middleware and error handling still apply, but Litestar's per-request work for ordinary handlers
(a Request, the kwargs and signature models, the response conversion) is skipped. It cost more than
everything these routes do themselves (bench/bench_tracking_routes.py). Litestar leaves ASGI
handlers out of its OpenAPI document, so each carries its own operation (`openapi_path` in `opt`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import asgi
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from governance.core.clock import utcnow
from governance.core.openapi import OPENAPI_PATH
from governance.core.proxies import scope_client, trusted_networks
from governance.core.responses import ReadyResponse
from tracking import classify, service
from tracking.events import Hit
from tracking.rewrite import is_http_url
from tracking.spool import Spool, new_id
from tracking.tokens import InvalidToken, TokenSigner

# The smallest transparent GIF: 1x1, 43 bytes.
PIXEL_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"
PIXEL_HEADERS = {"Cache-Control": NO_STORE, "X-Robots-Tag": "noindex", "Pragma": "no-cache"}
REDIRECT_HEADERS = {"Cache-Control": NO_STORE, "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
NOT_FOUND_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Link not found</title><p>This link is not valid or has expired.</p>\n"
)
LOCATION_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))  # keep printable ASCII as it is; encode the rest
METHODS = frozenset({"GET", "HEAD"})


def location(destination: str) -> str:
    """The Location header value: printable ASCII as it is, anything else percent-encoded."""
    if destination.isascii() and destination.isprintable() and " " not in destination:
        return destination
    return quote(destination, safe=LOCATION_SAFE)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _segment(scope: Scope) -> str:
    """The one path segment after the mount (`/t/c/<this>`), or "" when the path has more or none.
    Litestar hands a mounted handler the rest of the path with a trailing slash (`/<token>/`), and
    mounts by prefix: `/t/code` reaches the `/t/c` mount as `ode/`, which is no route of ours."""
    rest = scope["path"]
    if not rest.startswith("/"):
        raise NotFoundException()
    rest = rest.strip("/")
    return "" if "/" in rest else rest


def _answers(scope: Scope) -> bool:
    """True for GET (record and answer), False for HEAD (answer only); any other method (or a
    websocket, which has none) is a 405."""
    method = scope.get("method")
    if method not in METHODS:
        raise MethodNotAllowedException(headers={"Allow": "GET, HEAD"})
    return method == "GET"


def _operation(
    operation_id: str, path_parameter: str, summary: str, description: str, responses: dict[str, Any]
) -> dict[str, Any]:
    """An OpenAPI GET operation of a public route with one path parameter."""
    return {
        "get": {
            "tags": ["public"],
            "summary": summary,
            "description": description,
            "operationId": operation_id,
            "parameters": [{"name": path_parameter, "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": responses,
            "security": [{}],
        }
    }


PIXEL_OPERATION = _operation(
    "PublicOpenPixel",
    "name",
    "Open pixel: always a 1x1 GIF",
    "`{token}.gif`, the token signed at registration. A valid token's open is recorded (its client class, never"
    " the address) and durable before the answer; an invalid one gets the same GIF, so a mail client never shows"
    " a broken image. HEAD answers the same headers and records nothing.",
    {
        "200": {
            "description": "A transparent 1x1 GIF (43 bytes), never cached",
            "content": {"image/gif": {"schema": {"type": "string"}}},
        }
    },
)
CLICK_OPERATION = _operation(
    "PublicTrackedLink",
    "token",
    "Tracked link: records the click and redirects (302) to the signed destination",
    "The click is recorded (client class, never the address) and durable before the redirect. The destination"
    " comes from the token only: a changed token is a 404 page, never a redirect elsewhere. HEAD answers the"
    " same status and Location and records nothing.",
    {
        "302": {"description": "To the destination signed in the token (`Location`)"},
        "404": {
            "description": "The token is not valid: a short HTML page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
)


def _mounted(mount: str, documented_path: str, operation: dict[str, Any]) -> ASGIRouteHandler:
    """A public ASGI handler for everything under `mount`, documented as `documented_path`."""
    return asgi(
        mount,
        is_mount=True,
        copy_scope=False,
        opt={"exclude_from_auth": True, OPENAPI_PATH: {documented_path: operation}},
    )


def public_routes(signer: TokenSigner, hits: Spool[Hit], trusted_proxies: tuple[str, ...]) -> list[ASGIRouteHandler]:
    networks = trusted_networks(trusted_proxies)

    def hit(kind: service.Kind, token: Any, scope: Scope) -> Hit:
        """The hit as it is kept: the address and the user agent go no further than their client class."""
        network = classify.network_hint(scope_client(scope, networks))
        verdict = classify.classify_agent(kind, _header(scope, b"user-agent")[:512], network)
        return Hit(new_id(), kind, token.email_id, token.link_index, utcnow(), verdict.client_class, verdict.reason)

    def verified(token: str, kind: service.Kind) -> Any:
        try:
            found = signer.verify(token, kind)
        except InvalidToken:
            return None
        if kind == "click" and not is_http_url(found.destination or ""):
            return None  # only ever redirect to http(s), whatever was signed
        return found

    pixel = ReadyResponse(200, {**PIXEL_HEADERS, "Content-Type": "image/gif"}, PIXEL_GIF)
    pixel_head = ReadyResponse(200, {**PIXEL_HEADERS, "Content-Type": "image/gif"})
    not_found_headers = {**REDIRECT_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    not_found = ReadyResponse(404, not_found_headers, NOT_FOUND_PAGE.encode())
    not_found_head = ReadyResponse(404, REDIRECT_HEADERS)
    redirect = ReadyResponse(302, REDIRECT_HEADERS)

    @_mounted("/t/o", "/t/o/{name}", PIXEL_OPERATION)
    async def open_pixel(scope: Scope, receive: Receive, send: Send) -> None:
        recording, name = _answers(scope), _segment(scope)
        if recording and name.endswith(".gif") and (token := verified(name[:-4], "open")) is not None:
            await hits.put(hit("open", token, scope))
        await (pixel if recording else pixel_head)(scope, receive, send)

    @_mounted("/t/c", "/t/c/{token}", CLICK_OPERATION)
    async def click(scope: Scope, receive: Receive, send: Send) -> None:
        recording = _answers(scope)
        found = verified(_segment(scope), "click")
        if found is None:
            await (not_found if recording else not_found_head)(scope, receive, send)
            return
        if recording:
            await hits.put(hit("click", found, scope))
        await redirect.with_header(b"location", location(found.destination))(scope, receive, send)

    return [open_pixel, click]

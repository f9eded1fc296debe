"""The routes recipients' mail clients hit: `/t/o/{token}.gif` and `/t/c/{token}`.

Public, no database read, no per-route middleware: they verify the token, reduce the request to a
client class, wait until the hit is durable in the local spool (the group commit of tracking.spool:
one fsync for every hit that joined the group) and answer with a response encoded once. They wait
for the disk, never for the database, and at most `Spool.answer_within` seconds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Response, get, head
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.types import Scope

from governance.core.clock import utcnow
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


def public_routes(signer: TokenSigner, hits: Spool[Hit], trusted_proxies: tuple[str, ...]) -> list[HTTPRouteHandler]:
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
    not_found = ReadyResponse(
        404, {**REDIRECT_HEADERS, "Content-Type": "text/html; charset=utf-8"}, NOT_FOUND_PAGE.encode()
    )
    redirect = ReadyResponse(302, REDIRECT_HEADERS)

    @get(
        "/t/o/{name:str}",
        exclude_from_auth=True,
        tags=["public"],
        summary="Open pixel: always a 1x1 GIF",
        media_type="image/gif",
        responses={
            200: ResponseSpec(
                bytes,
                description="A transparent 1x1 GIF (43 bytes), never cached",
                media_type="image/gif",
                generate_examples=False,
            )
        },
    )
    async def open_pixel(name: FromPath[str], scope: Scope) -> ReadyResponse:
        """`{token}.gif`, the token signed at registration. A valid token's open is recorded (its client
        class, never the address) and durable before the answer; an invalid one gets the same GIF, so
        a mail client never shows a broken image."""
        token = verified(name[:-4], "open") if name.endswith(".gif") else None
        if token is not None:
            await hits.put(hit("open", token, scope))
        return pixel

    @head("/t/o/{name:str}", exclude_from_auth=True, include_in_schema=False)
    async def open_pixel_head(name: FromPath[str]) -> Response[None]:
        # Litestar types a HEAD answer as Response[None]; b"" renders as the empty body an image type needs.
        return Response(b"", media_type="image/gif", headers=PIXEL_HEADERS)  # type: ignore[arg-type]

    @get(
        "/t/c/{token:str}",
        exclude_from_auth=True,
        tags=["public"],
        summary="Tracked link: records the click and redirects (302) to the signed destination",
        status_code=302,
        responses={
            302: ResponseSpec(None, description="To the destination signed in the token (`Location`)"),
            404: ResponseSpec(
                str,
                description="The token is not valid: a short HTML page",
                media_type="text/html",
                generate_examples=False,
            ),
        },
    )
    async def click(token: FromPath[str], scope: Scope) -> ReadyResponse:
        """The click is recorded (client class, never the address) and durable before the redirect. The
        destination comes from the token only: a changed token is a 404 page, never a redirect elsewhere."""
        found = verified(token, "click")
        if found is None:
            return not_found
        await hits.put(hit("click", found, scope))
        return redirect.with_header(b"location", location(found.destination))

    @head("/t/c/{token:str}", exclude_from_auth=True, include_in_schema=False)
    async def click_head(token: FromPath[str]) -> Response[None]:
        found = verified(token, "click")
        if found is None:
            return Response(None, status_code=404, headers=REDIRECT_HEADERS)
        return Response(None, status_code=302, headers={**REDIRECT_HEADERS, "Location": location(found.destination)})

    return [open_pixel, open_pixel_head, click, click_head]

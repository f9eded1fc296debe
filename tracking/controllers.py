"""Tracking routes. Thin: rules live in tracking.service.

The dashboard and the sending pipeline use `/api/...` (account members, API keys, admins).
Recipients' mail clients use `/t/o/{token}.gif` and `/t/c/{token}`: public, no database read,
no per-route middleware; they verify the token, queue the hit for the recorder and answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, head, patch, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.response.base import ASGIResponse
from litestar.status_codes import HTTP_200_OK, HTTP_409_CONFLICT
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from auth.guards import account_members, account_scope, ensure_account_access, target_account
from auth.schemas import Principal
from governance.proxies import Networks, forwarded_client, trusted_networks
from tracking import classify, events, service
from tracking.models import SendingDomain
from tracking.recorder import EventRecorder
from tracking.rewrite import is_http_url
from tracking.schemas import (
    DomainCreate,
    DomainReport,
    DomainTracking,
    DomainView,
    EmailCreate,
    EmailRegistered,
    EmailTracking,
    EmailTrackingPatch,
    EventView,
    SkippedLinkView,
    SuppressionCreate,
    SuppressionView,
)
from tracking.service import TrackingContext
from tracking.tokens import InvalidToken, TokenSigner

# --- errors: a refused rule is a 4xx with its message ------------------------------------------


def _error(status_code: int):
    def handle(_: Request, exc: Exception) -> Response[dict[str, Any]]:
        return Response({"status_code": status_code, "detail": str(exc)}, status_code=status_code)

    return handle


TRACKING_ERRORS = {
    service.NotFound: _error(404),
    service.Conflict: _error(HTTP_409_CONFLICT),
    service.TrackingError: _error(400),
}


async def owned_domain(db_session: AsyncSession, principal: Principal, name: str) -> SendingDomain:
    """The domain, if the principal's account owns it; other accounts' domains do not exist (404)."""
    domain = await service.get_domain(db_session, name)
    ensure_account_access(principal, domain.account_id, "sending domain")
    return domain


class DomainController(Controller):
    path = "/api/domains"
    tags = ["tracking"]
    guards = [account_members]
    exception_handlers = TRACKING_ERRORS  # type: ignore[assignment]

    @post("/", summary="Register a sending domain for an account (409 when already registered)")
    async def add(
        self,
        data: DomainCreate,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        account_id: UUID | None = None,
    ) -> DomainView:
        domain = await service.add_domain(
            db_session, account_id=target_account(request.user, account_id), name=data.domain, actor=request.user.label
        )
        return DomainView(domain=domain.name, account_id=domain.account_id, tracking=service.domain_tracking(domain))

    @get("/", summary="The account's sending domains")
    async def list_domains(self, request: Request[Principal, Any, Any], db_session: AsyncSession) -> list[DomainView]:
        domains = await service.list_domains(db_session, account_scope(request.user))
        return [
            DomainView(domain=d.name, account_id=d.account_id, tracking=service.domain_tracking(d)) for d in domains
        ]

    @get("/{domain:str}/tracking", summary="A domain's tracking settings")
    async def get_tracking(
        self, domain: str, request: Request[Principal, Any, Any], db_session: AsyncSession
    ) -> DomainTracking:
        return service.domain_tracking(await owned_domain(db_session, request.user, domain))

    @put("/{domain:str}/tracking", summary="Replace a domain's tracking settings")
    async def put_tracking(
        self, domain: str, data: DomainTracking, request: Request[Principal, Any, Any], db_session: AsyncSession
    ) -> DomainTracking:
        row = await owned_domain(db_session, request.user, domain)
        return await service.set_domain_tracking(db_session, row, data, actor=request.user.label)

    @get("/{domain:str}/tracking/report", summary="Opens, unique opens, clicks per link; raw and human-only")
    async def report(
        self,
        domain: str,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> DomainReport:
        row = await owned_domain(db_session, request.user, domain)
        return await events.domain_report(db_session, row, since=since, until=until)


class EmailController(Controller):
    path = "/api/emails"
    tags = ["tracking"]
    guards = [account_members]
    exception_handlers = TRACKING_ERRORS  # type: ignore[assignment]

    @post("/", summary="Register an outgoing email; returns its bodies with tracking applied")
    async def register(
        self,
        data: EmailCreate,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        tracking_context: TrackingContext,
    ) -> EmailRegistered:
        done = await service.register_email(
            db_session, tracking_context, account_id=account_scope(request.user), data=data
        )
        return EmailRegistered(
            id=done.email.id,
            tracking=service.email_tracking(done.email, done.domain),
            html=done.html,
            text=done.text,
            links_tracked=done.links_tracked,
            links_skipped=[SkippedLinkView(url=s.url, reason=s.reason) for s in done.skipped],
        )

    @get("/{email_id:int}/tracking", summary="An email's tracking decision and whether it still records")
    async def get_tracking(
        self, email_id: int, request: Request[Principal, Any, Any], db_session: AsyncSession
    ) -> EmailTracking:
        email, domain = await service.get_email(db_session, email_id, account_scope(request.user))
        return service.email_tracking(email, domain)

    @patch("/{email_id:int}/tracking", summary="Stop (or resume) recording an email's opens or clicks")
    async def patch_tracking(
        self, email_id: int, data: EmailTrackingPatch, request: Request[Principal, Any, Any], db_session: AsyncSession
    ) -> EmailTracking:
        email, domain = await service.get_email(db_session, email_id, account_scope(request.user))
        return await service.change_email_tracking(db_session, email, domain, data, actor=request.user.label)

    @get("/{email_id:int}/events", summary="An email's opens and clicks, with the client class of each")
    async def events(
        self, email_id: int, request: Request[Principal, Any, Any], db_session: AsyncSession, limit: int = 500
    ) -> list[EventView]:
        await service.get_email(db_session, email_id, account_scope(request.user))
        return await events.email_events(db_session, email_id, limit=max(1, min(limit, 5000)))


class SuppressionController(Controller):
    """Recipients (an address or a whole domain) an account never tracks; stored as keyed hashes."""

    path = "/api/suppressions"
    tags = ["tracking"]
    guards = [account_members]
    exception_handlers = TRACKING_ERRORS  # type: ignore[assignment]

    @post("/", summary="Never track this address or recipient domain")
    async def add(
        self,
        data: SuppressionCreate,
        request: Request[Principal, Any, Any],
        db_session: AsyncSession,
        tracking_context: TrackingContext,
        account_id: UUID | None = None,
    ) -> SuppressionView:
        row = await service.add_suppression(
            db_session,
            tracking_context,
            account_id=target_account(request.user, account_id),
            recipient=data.recipient,
            actor=request.user.label,
        )
        return SuppressionView(id=row.id, kind=row.kind, created_at=row.created_at)

    @get("/", summary="The account's suppressions (hashed: the addresses are not shown)")
    async def list_suppressions(
        self, request: Request[Principal, Any, Any], db_session: AsyncSession, account_id: UUID | None = None
    ) -> list[SuppressionView]:
        rows = await service.list_suppressions(db_session, target_account(request.user, account_id))
        return [SuppressionView(id=r.id, kind=r.kind, created_at=r.created_at) for r in rows]

    @delete("/{suppression_id:uuid}", status_code=HTTP_200_OK, summary="Remove a suppression")
    async def remove(
        self, suppression_id: UUID, request: Request[Principal, Any, Any], db_session: AsyncSession
    ) -> dict[str, bool]:
        await service.remove_suppression(
            db_session, suppression_id=suppression_id, account_id=account_scope(request.user), actor=request.user.label
        )
        return {"removed": True}


# --- public routes for recipients' mail clients ------------------------------------------------

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


def client_address(scope: Scope, networks: Networks) -> str | None:
    """The peer, or the last X-Forwarded-For hop when the peer is a trusted proxy."""
    peer = (scope.get("client") or (None,))[0]
    if not networks:
        return peer
    return forwarded_client(peer, _header(scope, b"x-forwarded-for"), networks)


class ReadyResponse(ASGIResponse):
    """A response encoded up front. Litestar's Response rebuilds and checks its headers on every
    request; the tracking routes answer the same few bytes thousands of times a second."""

    __slots__ = ("_body", "_headers", "_status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self._status = status
        self._headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
        self._headers.append((b"content-length", str(len(body)).encode()))
        self._body = body

    def with_header(self, name: bytes, value: str) -> ReadyResponse:
        """A copy with one more header (the redirect's Location), without encoding the rest again."""
        copy = object.__new__(ReadyResponse)
        copy._status, copy._body = self._status, self._body
        copy._headers = [*self._headers, (name, value.encode("latin-1"))]
        return copy

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self._status, "headers": self._headers})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})


def public_routes(
    signer: TokenSigner, recorder: EventRecorder, trusted_proxies: tuple[str, ...]
) -> list[HTTPRouteHandler]:
    networks = trusted_networks(trusted_proxies)

    def queue(kind: service.Kind, token: Any, scope: Scope) -> events.Hit:
        return events.Hit(
            kind,
            token.email_id,
            token.link_index,
            datetime.now(UTC),
            _header(scope, b"user-agent")[:512],
            classify.network_hint(client_address(scope, networks)),
        )

    def verified(token: str, kind: service.Kind) -> Any:
        try:
            found = signer.verify(token, kind)
        except InvalidToken:
            return None
        if kind == "click" and not is_http_url(found.destination or ""):
            return None  # only ever redirect to http(s), whatever was signed
        return found

    # Hot routes answer with ready-made ASGI responses: no Response object to build and convert.
    pixel = ReadyResponse(200, {**PIXEL_HEADERS, "Content-Type": "image/gif"}, PIXEL_GIF)
    not_found = ReadyResponse(
        404, {**REDIRECT_HEADERS, "Content-Type": "text/html; charset=utf-8"}, NOT_FOUND_PAGE.encode()
    )

    redirect = ReadyResponse(302, REDIRECT_HEADERS)

    def redirect_to(destination: str) -> ReadyResponse:
        return redirect.with_header(b"location", location(destination))

    @get("/t/o/{name:str}", exclude_from_auth=True, tags=["public"], summary="Open pixel: always a 1x1 GIF")
    async def open_pixel(name: str, scope: Scope) -> ReadyResponse:
        token = verified(name[:-4], "open") if name.endswith(".gif") else None
        if token is not None:
            await recorder.hit(queue("open", token, scope))
        return pixel

    @head("/t/o/{name:str}", exclude_from_auth=True, include_in_schema=False)
    async def open_pixel_head(name: str) -> Response[None]:
        return Response(b"", media_type="image/gif", headers=PIXEL_HEADERS)

    @get(
        "/t/c/{token:str}",
        exclude_from_auth=True,
        tags=["public"],
        summary="Tracked link: records the click and redirects",
    )
    async def click(token: str, scope: Scope) -> ReadyResponse:
        found = verified(token, "click")
        if found is None:
            return not_found
        await recorder.hit(queue("click", found, scope))
        return redirect_to(found.destination)

    @head("/t/c/{token:str}", exclude_from_auth=True, include_in_schema=False)
    async def click_head(token: str) -> Response[None]:
        found = verified(token, "click")
        if found is None:
            return Response(None, status_code=404, headers=REDIRECT_HEADERS)
        return Response(None, status_code=302, headers={**REDIRECT_HEADERS, "Location": location(found.destination)})

    return [open_pixel, open_pixel_head, click, click_head]

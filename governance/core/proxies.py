"""Trusted proxies (`MS_TRUSTED_PROXIES`): whose forwarded client address and geo headers are believed.

Anyone can send `X-Forwarded-For` or `CF-IPCountry`; only a request whose TCP peer is one of
the trusted proxies gets them read. `client_of` is the one client identity of every rate limit
(login, journey ingest, violation reports) and of email tracking's client class. No address is ever stored.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.types import Scope

Networks = tuple[IPv4Network | IPv6Network, ...]


@lru_cache(maxsize=16)
def trusted_networks(proxies: tuple[str, ...]) -> Networks:
    """Parse IPs or CIDRs; raises ValueError naming the bad entry."""
    try:
        return tuple(ip_network(proxy, strict=False) for proxy in proxies)
    except ValueError as exc:
        raise ValueError(f"MS_TRUSTED_PROXIES: {exc}") from exc


def is_trusted(peer: str | None, networks: Networks) -> bool:
    if not peer or not networks:
        return False
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def forwarded_client(peer: str | None, forwarded_for: str, networks: Networks) -> str | None:
    """The peer, or behind a trusted proxy the last `X-Forwarded-For` hop (the one it appended)."""
    if forwarded_for and is_trusted(peer, networks):
        return forwarded_for.rsplit(",", 1)[-1].strip() or peer
    return peer


def scope_client(scope: Scope, networks: Networks) -> str | None:
    """The same from a raw ASGI scope (for the hot tracking routes, which never build a Request)."""
    peer = (scope.get("client") or (None,))[0]
    if not networks:
        return peer
    forwarded_for = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"x-forwarded-for"), "")
    return forwarded_client(peer, forwarded_for, networks)


def client_of(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who a request comes from, for every rate limit and anything else keyed on the client: behind a
    trusted proxy (`MS_TRUSTED_PROXIES`) the address it forwarded, else the TCP peer. Never stored."""
    from governance.core.plugin import settings_of  # the plugin module imports the app's settings

    return scope_client(request.scope, trusted_networks(settings_of(request.app).trusted_proxies)) or "unknown"

"""Coarse geo from the hosting proxy's headers, believed only when the peer is a trusted proxy.

Anyone can send `CF-IPCountry: FR`; only a request whose TCP peer is one of
`settings.trusted_proxies` gets its geo headers read (governance/core/proxies.py). The IP address
itself is never stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from governance.core.proxies import is_trusted, trusted_networks

COUNTRY_HEADERS = ("cf-ipcountry", "x-vercel-ip-country", "cloudfront-viewer-country")
REGION_HEADERS = ("x-vercel-ip-country-region", "cloudfront-viewer-country-region")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[A-Z0-9]{1,3}")
_NOT_A_COUNTRY = {"XX", "T1"}  # Cloudflare: unknown, Tor


def is_trusted_proxy(peer: str | None, proxies: tuple[str, ...]) -> bool:
    return is_trusted(peer, trusted_networks(proxies))


def _first(headers: Mapping[str, str], names: Iterable[str], shape: re.Pattern[str]) -> str | None:
    for name in names:
        value = headers.get(name, "").strip().upper()
        if shape.fullmatch(value) and value not in _NOT_A_COUNTRY:
            return value
    return None


def coarse_geo(peer: str | None, headers: Mapping[str, str], proxies: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(country, region) from a trusted proxy's headers, else (None, None)."""
    if not is_trusted_proxy(peer, proxies):
        return None, None
    country = _first(headers, COUNTRY_HEADERS, _COUNTRY)
    region = _first(headers, REGION_HEADERS, _REGION) if country else None
    return country, region

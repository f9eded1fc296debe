"""Who fetched a pixel or followed a link: a person, a mail provider's proxy, or a security scanner.

Only the class and the reason are stored; the user agent and the IP address are not.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

HUMAN = "human"
APPLE = "apple_privacy_proxy"
GMAIL = "gmail_proxy"
SCANNER = "security_scanner"
UNKNOWN = "unknown"
CLIENT_CLASSES = (HUMAN, APPLE, GMAIL, SCANNER, UNKNOWN)

# Apple Mail Privacy Protection fetches from Apple's own network.
APPLE_NETWORKS = (
    ipaddress.ip_network("17.0.0.0/8"),
    ipaddress.ip_network("2620:149::/32"),
    ipaddress.ip_network("2a01:b740::/32"),
)
APPLE_PREFIXES = ("17.", "2620:149:", "2a01:b740:")
SCANNER_AGENTS = re.compile(
    r"barracuda|mimecast|proofpoint|urldefense|safelinks|messagelabs|symantec|trend ?micro|fortiguard|"
    r"zscaler|sophos|cisco|ironport|bitdefender|kaspersky|paloalto|checkpoint|"
    r"bot\b|crawler|spider|scanner|headless|python-requests|python-urllib|aiohttp|httpx|curl/|wget/|go-http-client|java/|okhttp|libwww",
    re.I,
)
# MPP's generic agent: WebKit without the browser's own tokens.
APPLE_PROXY_AGENT = re.compile(
    r"^Mozilla/5\.0( \(Macintosh; Intel Mac OS X [\d_]+\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\))?$"
)
BROWSER_OR_MAIL_CLIENT = re.compile(r"mozilla/|outlook|thunderbird|microsoft office|applemail|mail/", re.I)

SCANNER_AFTER_DELIVERY = timedelta(seconds=10)  # a click this soon after sending is a link checker
BURST_WINDOW = timedelta(seconds=5)
BURST_LINKS = 3  # distinct links of one email clicked within BURST_WINDOW


def network_hint(ip: str | None) -> str | None:
    """Reduce the client address to what classification needs, at once, so the address goes no further."""
    if not ip or not ip.startswith(APPLE_PREFIXES):  # a string test first: this runs on every hit
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return "apple" if any(address in net for net in APPLE_NETWORKS) else None


class Verdict(NamedTuple):
    client_class: str
    reason: str


@lru_cache(maxsize=4096)  # user agents repeat a lot
def classify_agent(kind: str, user_agent: str, network: str | None) -> Verdict:
    """What the request alone says."""
    if match := SCANNER_AGENTS.search(user_agent):
        return Verdict(SCANNER, f"scanner user agent ({match.group(0).strip().lower()})")
    if "GoogleImageProxy" in user_agent or "ggpht.com" in user_agent:
        return Verdict(GMAIL, "Google image proxy user agent")
    if kind == "open" and network == "apple":
        return Verdict(APPLE, "fetched from Apple's network")
    if kind == "open" and APPLE_PROXY_AGENT.match(user_agent):
        return Verdict(APPLE, "Apple Mail Privacy Protection user agent")
    if not user_agent.strip():
        return Verdict(UNKNOWN, "no user agent")
    if BROWSER_OR_MAIL_CLIENT.search(user_agent):
        return Verdict(HUMAN, "browser or mail client user agent")
    return Verdict(UNKNOWN, "unrecognised user agent")


class BurstDetector:
    """Remembers recent clicks per email to spot scanners that follow every link at once.

    Per process and bounded: enough for the burst rule, which only looks a few seconds back."""

    def __init__(self, max_emails: int = 10_000) -> None:
        # email id -> {link index: first click in the window}, oldest first; emails least recently clicked first
        self._recent: dict[int, dict[int, datetime]] = {}
        self._max_emails = max_emails

    def click(self, email_id: int, link_index: int, at: datetime) -> datetime | None:
        """Record a click; returns the burst's start when this email's clicks now form a burst."""
        links = self._recent.pop(email_id, None) or {}
        self._recent[email_id] = links  # re-insert: most recently used last
        while links and at - (oldest := next(iter(links.items())))[1] > BURST_WINDOW:
            del links[oldest[0]]
        links.setdefault(link_index, at)
        while len(self._recent) > self._max_emails:
            self._recent.pop(next(iter(self._recent)))
        if len(links) >= BURST_LINKS:
            return next(iter(links.values()))
        return None


def classify_timing(
    kind: str, verdict: Verdict, registered_at: datetime, at: datetime, burst_start: datetime | None
) -> Verdict:
    """What the hit's timing adds: machines click within seconds of delivery, or every link at once."""
    if kind != "click" or verdict.client_class in (SCANNER, GMAIL):
        return verdict
    if burst_start is not None:
        return Verdict(SCANNER, f"{BURST_LINKS}+ links of this email within {BURST_WINDOW.seconds} s")
    seconds = (at - registered_at).total_seconds()
    if 0 <= seconds < SCANNER_AFTER_DELIVERY.total_seconds():
        return Verdict(SCANNER, f"clicked {seconds:.0f} s after sending")
    return verdict

"""Who fetched a pixel or followed a link: a person, a mail provider's proxy, an email security
scanner, or another machine (crawlers, link checkers, monitors, HTTP libraries: `tracking.bots`).

Only the class and the reason are stored; the user agent and the IP address are not.
Verdicts are per agent string, compiled regexes, cached (bounded LRU): this runs for every hit.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import msgspec
from litestar.stores.memory import MemoryStore

from tracking import bots

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar.stores.base import Store

HUMAN = "human"
APPLE = "apple_privacy_proxy"
GMAIL = "gmail_proxy"
SCANNER = "security_scanner"
BOT = "bot"
UNKNOWN = "unknown"
CLIENT_CLASSES = (HUMAN, APPLE, GMAIL, SCANNER, BOT, UNKNOWN)
MACHINES = (SCANNER, BOT)  # classes that are never a person (the proxies fetch for one)

# Apple Mail Privacy Protection fetches from Apple's own network.
APPLE_NETWORKS = (
    ipaddress.ip_network("17.0.0.0/8"),
    ipaddress.ip_network("2620:149::/32"),
    ipaddress.ip_network("2a01:b740::/32"),
)
APPLE_PREFIXES = ("17.", "2620:149:", "2a01:b740:")
# Email security gateways and link scanners that name themselves (matched on the lower-cased agent:
# a case-insensitive regex is several times slower). Many follow links with a browser's agent
# instead (Microsoft Safe Links, Proofpoint, Mimecast...): the timing rules below catch those.
SCANNER_NAMES = (
    *("barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "safe links", "messagelabs", "symantec"),
    *("broadcom", "trendmicro", "trend micro", "fortiguard", "fortinet", "forcepoint", "websense", "zscaler"),
    *("sophos", "cisco", "ironport", "bitdefender", "kaspersky", "eset", "paloalto", "palo alto", "checkpoint"),
    *("check point", "fireeye", "trellix", "mcafee", "avanan", "ironscales", "abnormal security", "vade secure"),
    *("vadesecure", "hornetsecurity", "hornet security", "spamtitan", "libraesva", "cyren", "cloudmark", "cofense"),
    *("mailmarshal", "trustwave", "clearswift", "appriver", "retarus", "mailguard", "slashnext", "menlo security"),
    *("perception point", "egress", "tessian", "agari", "google-safety", "safebrowsing", "safe browsing"),
    *("virustotal", "urlscan", "netcraft", "phishtank", "defender for office", "exchange online protection"),
    *("msftatp", "msft atp", "area 1 security", "scanner"),
)
SCANNER_AGENTS = re.compile(rf"\b(?:{bots.trie_pattern(SCANNER_NAMES, whole=True)})\b")
# MPP's generic agent: WebKit without the browser's own tokens.
APPLE_PROXY_AGENT = re.compile(
    r"^Mozilla/5\.0( \(Macintosh; Intel Mac OS X [\d_]+\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\))?$"
)
BROWSER_OR_MAIL_CLIENT = re.compile(r"mozilla/|outlook|thunderbird|microsoft office|applemail|mail/")  # lower-cased

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


@lru_cache(maxsize=4096)  # user agents repeat a lot; the controller cuts them at 512 characters
def classify_agent(kind: str, user_agent: str, network: str | None) -> Verdict:
    """What the request alone says."""
    if not user_agent.strip():
        return Verdict(UNKNOWN, "no user agent")
    if "GoogleImageProxy" in user_agent or "ggpht.com" in user_agent:  # Gmail fetching for a reader
        return Verdict(GMAIL, "Google image proxy user agent")
    lowered = user_agent.lower()
    if match := SCANNER_AGENTS.search(lowered):
        return Verdict(SCANNER, f"scanner user agent ({match.group()})")
    if token := bots.machine_token(user_agent):
        return Verdict(BOT, f"crawler or tool user agent ({token})")
    if kind == "open" and network == "apple":
        return Verdict(APPLE, "fetched from Apple's network")
    if kind == "open" and APPLE_PROXY_AGENT.match(user_agent):
        return Verdict(APPLE, "Apple Mail Privacy Protection user agent")
    if BROWSER_OR_MAIL_CLIENT.search(lowered):
        return Verdict(HUMAN, "browser or mail client user agent")
    return Verdict(UNKNOWN, "unrecognised user agent")


BURST_STORE = (
    "tracking_click_bursts"  # the Litestar store (governance/core/stores.py) the burst rule remembers clicks in
)
_BURST_KEEP_SECONDS = 60  # how long a store keeps an email's recent clicks (the rule looks BURST_WINDOW back)
_CLICKS = msgspec.json.Decoder(list[tuple[int, datetime]])


class BurstDetector:
    """Remembers recent clicks per email to spot scanners that follow every link at once.

    The clicks live in a Litestar store (`tracking_click_bursts`): in memory for one process, in
    Redis when `MS_REDIS_URL` is set, so a scanner whose clicks land on several workers or
    instances is still seen as one burst. One key per email, read then written: two workers loading
    clicks of the same email in the same instant may miss one of them (as Litestar's own limiter
    may undercount). Keys expire a minute after the email's last click."""

    def __init__(self, store: Store | None = None) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self._writes = 0

    def use(self, store: Store) -> None:
        """Remember clicks in this store from now on (the app's, once it starts)."""
        self.store = store

    async def click(self, email_id: int, link_index: int, at: datetime) -> datetime | None:
        """Record a click; returns the burst's start when this email's clicks now form a burst."""
        return (await self.clicks([(email_id, link_index, at)]))[0]

    async def clicks(self, clicks: Sequence[tuple[int, int, datetime]]) -> list[datetime | None]:
        """Record clicks (email id, link index, time) in order; for each, what `click` would return.
        One read and one write of the store per email, not per click: a batch of a spool's load
        holds thousands, and with Redis each store call is a round trip."""
        by_email: dict[int, list[int]] = {}
        for position, (email_id, _, _) in enumerate(clicks):
            by_email.setdefault(email_id, []).append(position)
        starts: list[datetime | None] = [None] * len(clicks)
        for email_id, positions in by_email.items():
            key = str(email_id)
            raw = await self.store.get(key)
            links: dict[int, datetime] = dict(_CLICKS.decode(raw)) if raw else {}  # link -> its first click
            for position in positions:
                _, link_index, at = clicks[position]
                if links and at - min(links.values()) > BURST_WINDOW:  # forget the links clicked too long before
                    links = {index: first for index, first in links.items() if at - first <= BURST_WINDOW}
                links.setdefault(link_index, at)
                if len(links) >= BURST_LINKS:
                    starts[position] = min(links.values())
            ordered = sorted(links.items(), key=lambda item: item[1])  # oldest first
            await self.store.set(key, msgspec.json.encode(ordered), expires_in=_BURST_KEEP_SECONDS)
            self._writes += 1
            if isinstance(self.store, MemoryStore) and self._writes % 1000 == 0:
                await self.store.delete_expired()  # memory stays bounded by the emails clicked in the last minute
        return starts


def classify_timing(
    kind: str, verdict: Verdict, registered_at: datetime, at: datetime, burst_start: datetime | None
) -> Verdict:
    """What the hit's timing adds: machines click within seconds of delivery, or every link at once."""
    if kind != "click" or verdict.client_class in (SCANNER, BOT, GMAIL):
        return verdict
    if burst_start is not None:
        return Verdict(SCANNER, f"{BURST_LINKS}+ links of this email within {BURST_WINDOW.seconds} s")
    seconds = (at - registered_at).total_seconds()
    if 0 <= seconds < SCANNER_AFTER_DELIVERY.total_seconds():
        return Verdict(SCANNER, f"clicked {seconds:.0f} s after sending")
    return verdict

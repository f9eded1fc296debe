"""The browser reports' intake limits (`POST /governance/violations`): a flood from one page cannot
silence every other report from the same address, and whatever is refused is counted.

Two fixed one-minute windows, checked in this order:

1. per (page origin, kind, name), across clients: a page repeating one report (a reload loop, or a
   script setting one key again and again) spends its own allowance, not its client's;
2. per client (`forwarded_client`: behind a trusted proxy, the address it saw): the last line
   against a sender inventing names.

Written by hand rather than with Litestar's RateLimitConfig: its key is known before the body is
read, and these keys are in the body. The counters live in a Litestar store chosen by name
(`violation_reports_rate_limit`), so they are shared wherever named stores are (e.g. Redis). Like
Litestar's own limiter, a counter is read then written: concurrent requests may undercount by a few.
Keys are hashed: no client address or page is kept in the store as it came.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from governance.core.clock import utcnow
from governance.core.errors import Busy
from governance.enforcement.schemas import DroppedReport

if TYPE_CHECKING:
    from litestar.stores.base import Store

STORE_NAME = "violation_reports_rate_limit"
WINDOW_SECONDS = 60
PER_ITEM = 30  # reports per minute of one (page origin, kind, name)
PER_CLIENT = 120  # reports per minute from one client, whatever they report

Rule = Literal["item", "client"]


def now() -> float:
    """The windows' clock (a function of its own, so tests can hold a window still)."""
    return time.time()


def page_origin(page: str) -> str:
    """`scheme://host[:port]` of a reported page, lower case; empty when it is not a URL."""
    try:
        parts = urlsplit(page)
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()[:255]


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    retry_after: int  # seconds until the window ends


class ReportLimits:
    def __init__(self, store: Store, *, per_item: int = PER_ITEM, per_client: int = PER_CLIENT) -> None:
        self.store = store
        self.per_item = per_item
        self.per_client = per_client

    async def admit(self, *, client: str, origin: str, kind: str, name: str) -> Refusal | None:
        """None when the report may be recorded; else which limit refused it."""
        at = now()
        window = int(at // WINDOW_SECONDS)
        retry_after = max(1, int((window + 1) * WINDOW_SECONDS - at))
        if await self._spent(f"item:{window}:{_digest(origin, kind, name)}", self.per_item):
            return Refusal("item", retry_after)
        if await self._spent(f"client:{window}:{_digest(client)}", self.per_client):
            return Refusal("client", retry_after)
        return None

    async def _spent(self, key: str, limit: int) -> bool:
        """Count one more in this window; True when the allowance was already used up (then nothing is written)."""
        count = int(await self.store.get(key) or 0)
        if count >= limit:
            return True
        await self.store.set(key, str(count + 1), expires_in=WINDOW_SECONDS + 1)
        return False


async def admit(
    limits: ReportLimits,
    dropped: Callable[[DroppedReport], object],
    *,
    client: str,
    page: str,
    kind: str,
    name: str,
) -> None:
    """Busy (429) when a limit refuses the report, after counting it as dropped."""
    origin = page_origin(page)
    refusal = await limits.admit(client=client, origin=origin, kind=kind, name=name)
    if refusal is None:
        return
    if refusal.rule == "item":
        dropped(DroppedReport(rule="item", at=utcnow(), page_origin=origin, kind=kind, name=name))
        detail = f"this page has reported {name!r} {limits.per_item} times this minute"
    else:
        dropped(DroppedReport(rule="client", at=utcnow()))
        detail = f"more than {limits.per_client} violation reports this minute from this client"
    raise Busy(f"{detail}; the report was counted as dropped", retry_after=refusal.retry_after)

"""The server-side Set-Cookie guard: every Set-Cookie a response carries must be declared.

`guard_asgi(app, source)` wraps any ASGI app; our Litestar app installs the same guard as a
`before_send` hook (`CookieGuard.before_send`), which Litestar calls for every message it sends,
including error responses and responses built by middleware.

The hot path is cheap: a response without Set-Cookie costs one scan of its header names. A
Set-Cookie header is parsed once per policy version and (name, attributes): the verdict does not
depend on the value, so later responses setting the same cookie cost a dict lookup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from governance.core.clock import utcnow
from governance.enforcement.allowlist import CompiledAllowlist
from governance.enforcement.cookies import SetCookie, mismatches, parse_set_cookie
from governance.enforcement.schemas import ViolationReport

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from governance.enforcement.allowlist import Allowlist, AllowlistSource

log = logging.getLogger(__name__)
SET_COOKIE = b"set-cookie"
HEADER_MESSAGES = ("http.response.start", "websocket.accept")  # the messages that carry response headers
MODES = ("enforce", "report", "off")
VERDICT_CACHE_SIZE = 1024  # distinct (cookie name, attributes) pairs; cleared when full


class _Compiled:
    """One policy version's cookie matchers and the verdicts reached under it."""

    __slots__ = ("content_hash", "cookies", "verdicts")

    def __init__(self, allowlist: Allowlist) -> None:
        self.content_hash = allowlist.content_hash
        self.cookies = CompiledAllowlist(allowlist.declarations, "cookie")
        self.verdicts: dict[tuple[bytes, bytes], list[tuple[str, str]]] = {}  # by (name, attributes)


def _set_cookies(headers: Any) -> list[tuple[int, bytes]] | None:
    """(index, value) of each Set-Cookie header, or None: the one scan every response pays."""
    found = None
    for index, (name, value) in enumerate(headers):
        if name == SET_COOKIE or (len(name) == 10 and name.lower() == SET_COOKIE):  # ASGI names should be lower case
            if found is None:
                found = []
            found.append((index, value))
    return found


class CookieGuard:
    """Checks the Set-Cookie headers of response-start messages against the allowlist in force.

    - `mode`: `enforce` strips a non-compliant header and reports it; `report` only reports it.
    - `require_secure`: the deployment requires Secure on every cookie (HTTPS only).
    - `on_violation`: called with a `ViolationReport` for each finding; must not block
      (our app queues it on a BatchWriter, see plugin.py). Default: a log warning.
    - Deletions (Max-Age<=0 or an Expires in the past) always pass: they store nothing.
    """

    def __init__(
        self,
        source: AllowlistSource,
        *,
        mode: str = "enforce",
        require_secure: bool = False,
        on_violation: Callable[[ViolationReport], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.source = source
        self.mode = mode
        self.require_secure = require_secure
        self.on_violation = on_violation or _log_violation
        self.clock = clock
        self._compiled: _Compiled | None = None
        self._warned_no_policy = False

    async def before_send(self, message: Message, scope: Scope) -> None:
        """Litestar `before_send` hook: inspects (and in enforce mode edits) a response start in place."""
        if message["type"] not in HEADER_MESSAGES or self.mode == "off":
            return
        cookies = _set_cookies(message.get("headers") or ())
        if not cookies:
            return
        allowlist = await self.source()
        if allowlist is None:
            self._warn_no_policy()
            return
        rejected = self.rejected(cookies, allowlist, scope)
        if rejected and self.mode == "enforce":
            start = cast("dict[str, Any]", message)  # a response start: it has headers
            start["headers"] = [header for index, header in enumerate(start["headers"]) if index not in rejected]

    def rejected(self, cookies: list[tuple[int, bytes]], allowlist: Allowlist, scope: Scope) -> set[int] | None:
        """Header indexes of the non-compliant cookies (each reported), or None when all comply."""
        compiled = self._compile(allowlist)
        verdicts = compiled.verdicts
        rejected = None
        for index, value in cookies:
            # The verdict depends on the name and attributes, never the value: cached by (name, attributes).
            pair, _, attributes = value.partition(b";")
            key = (pair.partition(b"=")[0], attributes)
            found = verdicts.get(key)
            if found is None:
                found = self._judge(compiled, key, value)
            if found:
                self._report(parse_set_cookie(value.decode("latin-1")).name, found, scope, allowlist)
                rejected = rejected or set()
                rejected.add(index)
        return rejected

    def _judge(self, compiled: _Compiled, key: tuple[bytes, bytes], header: bytes) -> list[tuple[str, str]]:
        cookie = parse_set_cookie(header.decode("latin-1"))
        found = self._findings(compiled.cookies, cookie, self.clock())
        if "expires" not in cookie.attributes or "max-age" in cookie.attributes:  # else it depends on the clock
            if len(compiled.verdicts) >= VERDICT_CACHE_SIZE:
                compiled.verdicts.clear()
            compiled.verdicts[key] = found
        return found

    def _findings(self, cookies: CompiledAllowlist, cookie: SetCookie, now: float) -> list[tuple[str, str]]:
        if cookie.is_deletion(now):
            return []
        declaration = cookies.find(cookie.name)
        if declaration is None:
            return [("undeclared", "no cookie declaration in force matches this name")]
        return mismatches(declaration, cookie, now=now, require_secure=self.require_secure)

    def _compile(self, allowlist: Allowlist) -> _Compiled:
        compiled = self._compiled
        if compiled is None or compiled.content_hash != allowlist.content_hash:
            compiled = self._compiled = _Compiled(allowlist)
        return compiled

    def _report(self, cookie_name: str, found: list[tuple[str, str]], scope: Scope, allowlist: Allowlist) -> None:
        user_agent = next((v for k, v in scope.get("headers", ()) if k == b"user-agent"), b"")
        report = ViolationReport(
            source="server",
            kind="cookie",
            name=cookie_name[:255],
            reason=found[0][0],
            detail="; ".join(detail for _, detail in found)[:500],
            mode="enforce" if self.mode == "enforce" else "report",
            page=scope.get("path", "")[:1024],
            user_agent=user_agent.decode("latin-1")[:512],
            policy_version=allowlist.number,
            occurred_at=utcnow(),
        )
        try:
            self.on_violation(report)
        except Exception:
            log.exception("could not record a cookie violation")

    def _warn_no_policy(self) -> None:
        if not self._warned_no_policy:
            self._warned_no_policy = True
            log.warning("no cookie policy in force: the Set-Cookie guard has nothing to enforce yet")


def _log_violation(report: ViolationReport) -> None:
    log.warning("cookie %s %s on %s (%s): %s", report.name, report.mode, report.page, report.reason, report.detail)


def guard_asgi(
    app: ASGIApp,
    source: AllowlistSource,
    *,
    mode: str = "enforce",
    require_secure: bool = False,
    on_violation: Callable[[ViolationReport], object] | None = None,
) -> ASGIApp:
    """Wrap any ASGI app so only declared cookies leave it.

    `source` is an `async () -> Allowlist | None` callable (e.g. `static_source(declarations)`,
    or one that fetches `/governance/allowlist.json` and caches it). Example::

        from governance.enforcement import guard_asgi, static_source
        app = guard_asgi(other_app, static_source(declarations), mode="report")
    """
    guard = CookieGuard(source, mode=mode, require_secure=require_secure, on_violation=on_violation)
    if mode == "off":
        return app

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await app(scope, receive, send)
            return

        async def checked_send(message: Message) -> None:
            if message["type"] in HEADER_MESSAGES:
                await guard.before_send(message, scope)
            await send(message)

        await app(scope, receive, checked_send)

    guarded.guard = guard  # type: ignore[attr-defined]
    return guarded

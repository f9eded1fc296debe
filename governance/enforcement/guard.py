"""The server-side cookie guard: every Set-Cookie a response carries must be declared, and every
cookie a request carries is checked too (page code can set cookies the server never sent).

`guard_asgi(app, source)` wraps any ASGI app; our Litestar app installs the same guard as a
`before_send` hook (`CookieGuard.before_send`), which Litestar calls for every message it sends,
including error responses and responses built by middleware. At a response start the request's
headers are in the scope, so one hook sees both directions.

The hot path is cheap: a response without Set-Cookie to a request without Cookie costs one scan of
each header list. Verdicts are cached per policy version by the raw header bytes (a browser sends
the same Cookie header on every request; a route sets the same cookies), and a Set-Cookie verdict
also by (name, attributes), since it never depends on the value. A request cookie is reported once
per name, policy version and instance: the Cookie header carries no attributes to judge.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from governance.core.clock import utcnow
from governance.core.requests import request_path
from governance.enforcement.allowlist import CompiledAllowlist
from governance.enforcement.cookies import SetCookie, mismatches, parse_set_cookie
from governance.enforcement.schemas import ObservedCookie, Source, ViolationReport

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from governance.enforcement.allowlist import Allowlist, AllowlistSource

log = logging.getLogger(__name__)
SET_COOKIE = b"set-cookie"
COOKIE = b"cookie"
HEADER_MESSAGES = ("http.response.start", "websocket.accept")  # the messages that carry response headers
MODES = ("enforce", "report", "off")
VERDICT_CACHE_SIZE = 1024  # distinct headers per cache; cleared when full
MAX_REPORTED_NAMES = 1000  # request cookie names reported per policy version: clients choose them, memory is ours
ARRIVED_DETAIL = "sent by the browser in a Cookie header: set by page code or another app, not by this service"

Findings = tuple[tuple[str, str], ...]  # (reason, detail) of each problem
CLEAN: Findings = ()  # the cached verdict of a compliant Set-Cookie (compared by identity on the hot path)
ALL_DECLARED: tuple[str, ...] = ()  # ... and of a Cookie header whose every name is declared


class _Compiled:
    """One policy version's cookie matchers and the verdicts reached under it."""

    __slots__ = ("arrived", "by_attributes", "content_hash", "cookies", "reported", "verdicts")

    def __init__(self, allowlist: Allowlist) -> None:
        self.content_hash = allowlist.content_hash
        self.cookies = CompiledAllowlist(allowlist.declarations, "cookie")
        self.verdicts: dict[bytes, Findings] = {}  # by the raw Set-Cookie value
        self.by_attributes: dict[tuple[bytes, bytes], Findings] = {}  # by (name, attributes)
        self.arrived: dict[bytes, tuple[str, ...]] = {}  # raw Cookie header -> its undeclared names
        self.reported: set[str] = set()  # request cookie names reported under this version


def _is_set_cookie(name: bytes) -> bool:
    return name == SET_COOKIE or (len(name) == 10 and name.lower() == SET_COOKIE)  # ASGI names should be lower case


def _set_cookies(headers: Any) -> list[tuple[int, bytes]]:
    """(index, value) of each Set-Cookie header."""
    return [(index, value) for index, (name, value) in enumerate(headers) if _is_set_cookie(name)]


def _request_cookies(headers: Any) -> bytes | None:
    """The request's Cookie header (several joined, as HTTP/2 may split it), or None. Servers give
    request header names in lower case (ASGI)."""
    found = None
    for name, value in headers:
        if name == COOKIE:
            found = value if found is None else found + b"; " + value
    return found


def _names(header: bytes) -> list[str]:
    """Cookie names in a Cookie header. A pair without `=` is a cookie with an empty name (RFC 6265bis 5.4)."""
    names = []
    for pair in header.decode("latin-1").split(";"):
        name, equals, _ = pair.partition("=")
        if equals or pair.strip():
            names.append(name.strip() if equals else "")
    return names


def observed(cookie: SetCookie, now: float) -> ObservedCookie:
    attrs, lifetime = cookie.attributes, cookie.lifetime(now)
    return ObservedCookie(
        http_only="httponly" in attrs,
        secure="secure" in attrs,
        same_site=attrs["samesite"].lower() if attrs.get("samesite") else None,
        domain=attrs.get("domain") or None,
        path=attrs.get("path") or None,
        lifetime_s=None if lifetime is None else int(lifetime),
    )


class CookieGuard:
    """Checks Set-Cookie headers of response starts, and the Cookie header of their requests,
    against the allowlist in force.

    - `mode`: `enforce` strips a non-compliant Set-Cookie and reports it; `report` only reports it.
      Request cookies are reported in both (nothing can strip them); `off` checks nothing.
    - `require_secure`: the deployment requires Secure on every cookie (HTTPS only).
    - `observe_requests`: check the Cookie request header; `skip_request_paths` are path prefixes
      left out of that (our hot tracking routes, `/t/`).
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
        observe_requests: bool = True,
        skip_request_paths: tuple[str, ...] = (),
        on_violation: Callable[[ViolationReport], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.source = source
        self.mode = mode
        self.require_secure = require_secure
        self.observe_requests = observe_requests
        self.skip_request_paths = skip_request_paths
        self._skip = skip_request_paths or None
        self.on_violation = on_violation or _log_violation
        self.clock = clock
        # a source may answer without a coroutine while its answer is fresh (PolicySource.peek)
        self._peek: Callable[[], Allowlist | None] | None = getattr(source, "peek", None)
        self._compiled: _Compiled | None = None
        self._warned_no_policy = False
        self._warned_names = False

    async def before_send(self, message: Message, scope: Scope) -> None:
        """Litestar `before_send` hook: inspects (and in enforce mode edits) a response start in place."""
        if message["type"] not in HEADER_MESSAGES or self.mode == "off":
            return
        headers: Any = message.get("headers") or ()
        # the one scan every response pays (ASGI names should be lower case; a mixed-case one costs a second look)
        values = [v for n, v in headers if n == SET_COOKIE or (len(n) == 10 and n.lower() == SET_COOKIE)]
        arrived = None
        if self.observe_requests and not (self._skip and request_path(scope).startswith(self._skip)):
            arrived = _request_cookies(scope["headers"])
        if not values and not arrived:
            return
        allowlist = self._peek() if self._peek is not None else None
        if allowlist is None:
            allowlist = await self.source()
        if allowlist is None:
            self._warn_no_policy()
            return
        compiled = self._compiled
        if compiled is None or compiled.content_hash != allowlist.content_hash:
            compiled = self._compile(allowlist)
        if arrived and compiled.arrived.get(arrived) is not ALL_DECLARED:
            self._observe(compiled, arrived, scope, allowlist)
        verdicts = compiled.verdicts
        for value in values:
            if verdicts.get(value) is not CLEAN:  # not judged compliant before (the common case)
                self._enforce(message, compiled, allowlist, scope)
                return

    def _enforce(self, message: Message, compiled: _Compiled, allowlist: Allowlist, scope: Scope) -> None:
        start = cast("dict[str, Any]", message)  # a response start: it has headers
        rejected = self._rejected(compiled, _set_cookies(start["headers"]), allowlist, scope)
        if rejected and self.mode == "enforce":
            start["headers"] = [header for index, header in enumerate(start["headers"]) if index not in rejected]

    def rejected(self, cookies: list[tuple[int, bytes]], allowlist: Allowlist, scope: Scope) -> set[int] | None:
        """Header indexes of the non-compliant cookies (each reported), or None when all comply."""
        return self._rejected(self._compile(allowlist), cookies, allowlist, scope)

    # --- Set-Cookie ------------------------------------------------------------------------------

    def _rejected(
        self, compiled: _Compiled, cookies: list[tuple[int, bytes]], allowlist: Allowlist, scope: Scope
    ) -> set[int] | None:
        verdicts = compiled.verdicts
        rejected = None
        for index, value in cookies:
            found = verdicts.get(value)
            if found is None:
                found = self._judge(compiled, value)
            if found:
                cookie = parse_set_cookie(value.decode("latin-1"))
                self._report(cookie.name, found, scope, allowlist, observed(cookie, self.clock()))
                rejected = rejected or set()
                rejected.add(index)
        return rejected

    def _judge(self, compiled: _Compiled, header: bytes) -> Findings:
        pair, _, attributes = header.partition(b";")
        name, has_value, _ = pair.partition(b"=")
        key = (name if has_value else b"=", attributes)  # no `=`: a nameless cookie (`=` is in no name)
        found = compiled.by_attributes.get(key)
        if found is None:
            cookie = parse_set_cookie(header.decode("latin-1"))
            found = self._findings(compiled.cookies, cookie, self.clock())
            if "expires" in cookie.attributes and cookie.max_age() is None:
                return found  # the verdict depends on the clock: never cached
            _remember(compiled.by_attributes, key, found)
        _remember(compiled.verdicts, header, found)
        return found

    def _findings(self, cookies: CompiledAllowlist, cookie: SetCookie, now: float) -> Findings:
        if cookie.is_deletion(now):
            return CLEAN
        declaration = cookies.find(cookie.name)
        if declaration is None:
            return (("undeclared", "no cookie declaration in force matches this name"),)
        return tuple(mismatches(declaration, cookie, now=now, require_secure=self.require_secure)) or CLEAN

    # --- Cookie (request) --------------------------------------------------------------------------

    def _observe(self, compiled: _Compiled, header: bytes, scope: Scope, allowlist: Allowlist) -> None:
        undeclared = compiled.arrived.get(header)
        if undeclared is None:
            undeclared = (
                tuple(dict.fromkeys(n for n in _names(header) if compiled.cookies.find(n) is None)) or ALL_DECLARED
            )
            _remember(compiled.arrived, header, undeclared)
        for name in undeclared:
            if name in compiled.reported:
                continue
            if len(compiled.reported) >= MAX_REPORTED_NAMES:
                self._warn_names()
                return
            compiled.reported.add(name)
            detail = ARRIVED_DETAIL if name else "a cookie without a name (only a value): " + ARRIVED_DETAIL
            self._report(name, (("undeclared", detail),), scope, allowlist, None, source="request")

    # --- common ------------------------------------------------------------------------------------

    def _compile(self, allowlist: Allowlist) -> _Compiled:
        compiled = self._compiled
        if compiled is None or compiled.content_hash != allowlist.content_hash:
            compiled = self._compiled = _Compiled(allowlist)
        return compiled

    def _report(
        self,
        cookie_name: str,
        found: Findings,
        scope: Scope,
        allowlist: Allowlist,
        cookie: ObservedCookie | None,
        source: Source = "server",
    ) -> None:
        user_agent = next((v for k, v in scope.get("headers", ()) if k == b"user-agent"), b"")
        report = ViolationReport(
            source=source,
            kind="cookie",
            name=cookie_name[:255],
            reason=found[0][0],
            detail="; ".join(detail for _, detail in found)[:500],
            mode="enforce" if self.mode == "enforce" and source == "server" else "report",
            page=request_path(scope)[:1024],
            user_agent=user_agent.decode("latin-1")[:512],
            policy_version=allowlist.number,
            occurred_at=utcnow(),
            observed=cookie,
        )
        try:
            self.on_violation(report)
        except Exception:
            log.exception("could not record a cookie violation")

    def _warn_no_policy(self) -> None:
        if not self._warned_no_policy:
            self._warned_no_policy = True
            log.warning("no cookie policy in force: the Set-Cookie guard has nothing to enforce yet")

    def _warn_names(self) -> None:
        if not self._warned_names:
            self._warned_names = True
            log.warning(
                "%d undeclared request cookie names reported under this policy version: no more", MAX_REPORTED_NAMES
            )


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= VERDICT_CACHE_SIZE:
        cache.clear()
    cache[key] = value


def _log_violation(report: ViolationReport) -> None:
    log.warning("cookie %s %s on %s (%s): %s", report.name, report.mode, report.page, report.reason, report.detail)


def guard_asgi(
    app: ASGIApp,
    source: AllowlistSource,
    *,
    mode: str = "enforce",
    require_secure: bool = False,
    observe_requests: bool = True,
    skip_request_paths: tuple[str, ...] = (),
    on_violation: Callable[[ViolationReport], object] | None = None,
) -> ASGIApp:
    """Wrap any ASGI app so only declared cookies leave it, and undeclared cookies arriving at it are reported.

    `source` is an `async () -> Allowlist | None` callable (e.g. `static_source(declarations)`,
    or one that fetches `/governance/allowlist.json` and caches it). Example::

        from governance.enforcement import guard_asgi, static_source
        app = guard_asgi(other_app, static_source(declarations), mode="report")
    """
    guard = CookieGuard(
        source,
        mode=mode,
        require_secure=require_secure,
        observe_requests=observe_requests,
        skip_request_paths=skip_request_paths,
        on_violation=on_violation,
    )
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

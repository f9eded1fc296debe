"""Collection: what a browser stores and loads, read through the DevTools protocol.

Nothing runs inside the audited page: cookies come from the browser's cookie jar
(Network.getAllCookies), storage from the DOMStorage, IndexedDB and CacheStorage domains by
the storage key of every frame (iframes of other origins included, through their own
sessions), service workers from the ServiceWorker domain, requests from the browser's network
events, geolocation use from Chromium's own feature counters in a trace. A page that overrides
Storage.prototype, Object.keys or window.localStorage changes nothing of this.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from governance.enforcement.audit.model import AuditOptions, PageResult, Sighting

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, CDPSession, Page, Request, WebSocket

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
INSTALL_HELP = (
    "the audit needs Playwright and Debian's Chromium:\n"
    "  pip install playwright        (or: pip install 'mailsetu-governance[audit]')\n"
    "  apt-get install chromium      (or pass --chromium PATH to another Chromium build)"
)
# A fresh profile that keeps third-party cookies, as most visitors' browsers still do: Chromium's
# default here blocks them, which would hide exactly the cookies an audit is looking for.
PROFILE_PREFERENCES = {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}
# Blink's feature counters (WebFeature ids, an append-only enum): kGeolocationSecureOrigin,
# kGeolocationInsecureOrigin and their ...DeprecatedNotRemoved forms. Counted by the browser on
# every Geolocation API call, whatever the page does to its own globals.
FEATURE_CATEGORY = "disabled-by-default-blink.feature_usage"
GEOLOCATION_FEATURES = frozenset({561, 562, 1343, 1344})
MAX_REQUESTS = 20_000
MAX_LINKS = 300
SCROLL_STEPS = 4


class BrowserMissing(RuntimeError):
    """Playwright or Chromium is not available; the message says how to install or reach them."""


@dataclass(frozen=True)
class RequestSeen:
    page: str
    url: str
    method: str
    resource_type: str


@dataclass
class Observation:
    """Everything collected in one run, before judging."""

    pages: list[PageResult]
    sightings: list[Sighting]
    requests: list[RequestSeen]
    browser: str
    warnings: list[str] = field(default_factory=list)


def write_profile(directory: Path) -> None:
    """Seed a Chromium user-data directory with the audit's preferences (also for a browser
    started by hand and reached with `--connect`)."""
    (directory / "Default").mkdir(parents=True, exist_ok=True)
    (directory / "Default" / "Preferences").write_text(json.dumps(PROFILE_PREFERENCES), encoding="utf-8")


def _now() -> datetime:
    return datetime.now(UTC)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def same_site(host: str, site: str) -> bool:
    host, site = host.lower().lstrip("."), site.lower().lstrip(".")
    return host == site or host.endswith("." + site)


def split_storage_key(key: str) -> tuple[str, str | None]:
    """Chromium's serialised StorageKey, `origin/[^0top-level-site...]` -> (origin, top-level site)."""
    base, *attributes = key.split("^")
    partition = next((a[1:] for a in attributes if a.startswith("0")), None)
    return base.rstrip("/"), partition


def _walk(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield tree["frame"]
    for child in tree.get("childFrames", []):
        yield from _walk(child)


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def cookie_sighting(cookie: dict[str, Any], page: str, after_load_s: float, observed_at: float) -> Sighting:
    partition = cookie.get("partitionKey")
    if isinstance(partition, dict):
        partition = partition.get("topLevelSite")
    lifetime = None if cookie.get("session") or cookie.get("expires", -1) <= 0 else cookie["expires"] - observed_at
    return Sighting(
        kind="cookie",
        name=cookie["name"],
        host=cookie["domain"].lstrip(".").lower(),
        origin=cookie["domain"],
        pages=[page],
        partition=partition,
        after_load_s=round(after_load_s, 2),
        path=cookie.get("path", "/"),
        http_only=bool(cookie.get("httpOnly")),
        secure=bool(cookie.get("secure")),
        same_site=cookie.get("sameSite"),
        lifetime_s=None if lifetime is None else round(lifetime),
    )


def sighting_key(s: Sighting) -> tuple[Any, ...]:
    """What makes two sightings distinct. A cookie's expiry is left out: it moves with the clock."""
    if s.kind == "cookie":
        return (s.kind, s.name, s.origin, s.path, s.partition, s.http_only, s.secure, s.same_site, s.lifetime_s is None)
    return (s.kind, s.name, s.origin, s.partition)


@asynccontextmanager
async def browser_context(options: AuditOptions) -> AsyncIterator[tuple[BrowserContext, str]]:
    """One browser context: one first-time visitor. Launched with a fresh profile, or opened in
    the running Chromium at `options.connect`."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise BrowserMissing(f"Playwright is not installed; {INSTALL_HELP}") from exc
    extra: dict[str, Any] = {"record_har_path": options.har_path} if options.har_path else {}
    async with async_playwright() as playwright:
        if options.connect:
            try:
                browser = await playwright.chromium.connect_over_cdp(options.connect, timeout=options.timeout_s * 1000)
            except PlaywrightError as exc:
                raise BrowserMissing(f"could not reach Chromium at {options.connect}: {exc.message}") from exc
            context = await browser.new_context(**extra)
            try:
                yield context, browser.version
            finally:
                await context.close()
            return
        if not await asyncio.to_thread(Path(options.chromium).is_file):
            raise BrowserMissing(f"no Chromium at {options.chromium}; {INSTALL_HELP}")
        with tempfile.TemporaryDirectory(prefix="ms-audit-") as profile:
            write_profile(Path(profile))
            try:
                context = await playwright.chromium.launch_persistent_context(
                    profile,
                    executable_path=options.chromium,
                    args=[*CHROMIUM_ARGS, *options.chromium_args],
                    **extra,
                )
            except PlaywrightError as exc:
                raise BrowserMissing(f"Chromium at {options.chromium} did not start: {exc.message}") from exc
            try:
                yield context, context.browser.version if context.browser else ""
            finally:
                await context.close()


class Collector:
    """Visits pages in one tab of one context, as one visitor would, and keeps every distinct sighting."""

    def __init__(self, context: BrowserContext, options: AuditOptions, progress: Callable[[str], None]) -> None:
        self.context = context
        self.options = options
        self.progress = progress
        self.sightings: dict[tuple[Any, ...], Sighting] = {}
        self.requests: list[RequestSeen] = []
        self.registrations: dict[str, str] = {}  # service worker registration id -> scope
        self.warnings: list[str] = []
        self.current = ""
        self.tab: tuple[Page, CDPSession] | None = None
        self.crashed = False
        context.on("request", self._on_request)

    # --- network ----------------------------------------------------------------------------

    def _record(self, url: str, method: str, resource_type: str) -> None:
        if url.startswith(("http:", "https:", "ws:", "wss:")) and len(self.requests) < MAX_REQUESTS:
            self.requests.append(RequestSeen(self.current, url, method, resource_type))

    def _on_request(self, request: Request) -> None:
        self._record(request.url, request.method, request.resource_type)

    def _on_websocket(self, socket: WebSocket) -> None:
        self._record(socket.url, "GET", "websocket")

    def _on_registrations(self, event: dict[str, Any]) -> None:
        for registration in event.get("registrations", []):
            self.registrations.setdefault(registration["registrationId"], registration["scopeURL"])

    # --- pages ------------------------------------------------------------------------------

    async def _open_tab(self) -> tuple[Page, CDPSession]:
        if self.tab is not None and not self.crashed:
            return self.tab
        self.crashed = False
        page = await self.context.new_page()
        page.on("websocket", self._on_websocket)
        page.on("crash", lambda _: setattr(self, "crashed", True))
        cdp = await self.context.new_cdp_session(page)
        cdp.on("ServiceWorker.workerRegistrationUpdated", self._on_registrations)
        await cdp.send("ServiceWorker.enable")
        self.tab = (page, cdp)
        return self.tab

    async def crawl(self, urls: list[str]) -> list[PageResult]:
        queue = [(url, True) for url in urls]
        seen = {_without_fragment(url) for url in urls}
        budget, results = self.options.crawl, list[PageResult]()
        while queue:
            url, requested = queue.pop(0)
            self.progress(f"page {len(results) + 1} of {len(results) + len(queue) + 1}: {url}")
            result, links = await self.visit(url, requested)
            results.append(result)
            for link in links:
                if budget <= 0:
                    break
                if _without_fragment(link) not in seen:
                    seen.add(_without_fragment(link))
                    queue.append((link, False))
                    budget -= 1
        return results

    async def visit(self, url: str, requested: bool) -> tuple[PageResult, list[str]]:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.current = url
        result = PageResult(url=url, requested=requested, status="ok", started_at=_now(), finished_at=_now())
        links: list[str] = []
        page, cdp = await self._open_tab()
        tracing = await self._start_tracing(cdp)
        try:
            self.progress("  loading")
            response = await page.goto(url, wait_until="load", timeout=self.options.timeout_s * 1000)
            loaded = time.monotonic()
            result.final_url = page.url
            result.site = await self._site(cdp, page.url)
            if response is not None:
                result.http_status = response.status
                if response.status >= 400:
                    result.status, result.error = "http_error", f"HTTP {response.status}"
            await self._settle(page, result)
            await self._snapshot(page, cdp, url, loaded, result)
            if self.options.second_look_s > 0:
                self.progress(f"  second look in {self.options.second_look_s:g}s")
                await asyncio.sleep(self.options.second_look_s)
                await self._snapshot(page, cdp, url, loaded, result)
            if self.options.screenshots:
                result.screenshot = await page.screenshot(
                    type="jpeg", quality=60, timeout=self.options.timeout_s * 1000
                )
            links = await self._same_site_links(cdp, page.url, result.site)
        except PlaywrightTimeout as exc:
            result.status, result.error = "failed", f"timed out: {exc.message.splitlines()[0]}"
        except PlaywrightError as exc:
            result.status = "crashed" if self.crashed else "failed"
            result.error = "the page crashed" if self.crashed else exc.message.splitlines()[0]
        if tracing and not self.crashed:
            result.geolocation = await self._geolocation_used(cdp)
        if self.crashed and result.status != "crashed":
            result.status, result.error = "crashed", "the page crashed"
        result.finished_at = _now()
        self.progress(f"  {result.status}" + (f": {result.error}" if result.error else ""))
        return result, links

    async def _site(self, cdp: CDPSession, url: str) -> str:
        """The registrable domain (public-suffix aware, as Chromium computes it), else the host."""
        tree = (await cdp.send("Page.getFrameTree"))["frameTree"]
        return tree["frame"].get("domainAndRegistry") or _host(url)

    async def _settle(self, page: Page, result: PageResult) -> None:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.progress("  waiting for the network to be idle")
        try:
            await page.wait_for_load_state("networkidle", timeout=self.options.timeout_s * 1000)
        except PlaywrightTimeout:
            result.notes.append(f"the network was still busy after {self.options.timeout_s:g}s")
        self.progress(f"  scrolling, then settling {self.options.settle_s:g}s")
        viewport = page.viewport_size or {"width": 1280, "height": 720}
        await page.mouse.move(viewport["width"] / 2, viewport["height"] / 2)
        for _ in range(SCROLL_STEPS):  # real wheel input, so lazy content and scroll handlers run
            await page.mouse.wheel(0, viewport["height"])
            await asyncio.sleep(0.05)
        await asyncio.sleep(self.options.settle_s)

    # --- snapshots --------------------------------------------------------------------------

    def _add(self, sighting: Sighting) -> None:
        known = self.sightings.setdefault(sighting_key(sighting), sighting)
        if known is not sighting and sighting.pages[0] not in known.pages:
            known.pages.append(sighting.pages[0])

    async def _snapshot(self, page: Page, cdp: CDPSession, url: str, loaded: float, result: PageResult) -> None:
        self.progress("  reading cookies and storage")
        after, observed_at = time.monotonic() - loaded, time.time()
        for cookie in (await cdp.send("Network.getAllCookies"))["cookies"]:
            self._add(cookie_sighting(cookie, url, after, observed_at))
        sessions = await self._frame_sessions(page, cdp)
        try:
            keys: dict[str, tuple[str, CDPSession]] = {}
            for session in sessions:
                for frame in _walk((await session.send("Page.getFrameTree"))["frameTree"]):
                    key = await self._storage_key(session, frame["id"])
                    if key and key.startswith(("http:", "https:")):
                        keys.setdefault(key, (frame["url"], session))
            for key, (frame_url, session) in keys.items():
                await self._read_storage(session, key, frame_url, url, after)
        finally:
            for session in sessions[1:]:
                await self._detach(session)
        for scope in self.registrations.values():
            self._add(
                Sighting(
                    kind="service_worker",
                    name=scope,
                    host=_host(scope),
                    origin=scope,
                    pages=[url],
                    after_load_s=round(after, 2),
                )
            )
        result.snapshots += 1

    async def _frame_sessions(self, page: Page, cdp: CDPSession) -> list[CDPSession]:
        """The page's session, and one per out-of-process iframe (frames of other sites)."""
        from playwright.async_api import Error as PlaywrightError

        sessions = [cdp]
        for frame in page.frames[1:]:
            with suppress(PlaywrightError):  # an in-process frame: the page's own session sees it
                sessions.append(await self.context.new_cdp_session(frame))
        return sessions

    @staticmethod
    async def _detach(session: CDPSession) -> None:
        from playwright.async_api import Error as PlaywrightError

        with suppress(PlaywrightError):  # the frame is gone already
            await session.detach()

    @staticmethod
    async def _storage_key(session: CDPSession, frame_id: str) -> str | None:
        from playwright.async_api import Error as PlaywrightError

        try:
            answer = await session.send("Storage.getStorageKeyForFrame", {"frameId": frame_id})
        except PlaywrightError:
            return None  # detached meanwhile, or an opaque origin (no storage)
        return str(answer["storageKey"])

    async def _read_storage(self, session: CDPSession, key: str, frame_url: str, page_url: str, after: float) -> None:
        from playwright.async_api import Error as PlaywrightError

        origin, partition = split_storage_key(key)
        found: list[tuple[str, str]] = []
        for is_local, kind in ((True, "local_storage"), (False, "session_storage")):
            storage_id = {"storageKey": key, "isLocalStorage": is_local}
            try:
                entries = (await session.send("DOMStorage.getDOMStorageItems", {"storageId": storage_id}))["entries"]
            except PlaywrightError as exc:
                self._warn(f"{kind} of {origin} could not be read: {exc.message}")
                continue
            found += [(kind, name) for name, _value in entries]
        try:
            names = (await session.send("IndexedDB.requestDatabaseNames", {"storageKey": key}))["databaseNames"]
            found += [("indexed_db", name) for name in names]
        except PlaywrightError:
            pass  # Chromium answers an error when the origin has no IndexedDB backing store
        try:
            caches = (await session.send("CacheStorage.requestCacheNames", {"storageKey": key}))["caches"]
            found += [("cache_storage", cache["cacheName"]) for cache in caches]
        except PlaywrightError:
            pass  # likewise for Cache Storage
        for kind, name in found:
            self._add(
                Sighting(
                    kind=kind,  # type: ignore[arg-type]
                    name=name,
                    host=_host(origin),
                    origin=origin,
                    pages=[page_url],
                    frame=frame_url,
                    partition=partition,
                    after_load_s=round(after, 2),
                )
            )

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # --- links and geolocation --------------------------------------------------------------

    async def _same_site_links(self, cdp: CDPSession, page_url: str, site: str | None) -> list[str]:
        if self.options.crawl <= 0 or not site:
            return []
        root = (await cdp.send("DOM.getDocument", {"depth": 0}))["root"]
        base = root.get("baseURL") or page_url
        found = (await cdp.send("DOM.querySelectorAll", {"nodeId": root["nodeId"], "selector": "a[href]"}))["nodeIds"]
        links = []
        for node_id in found[:MAX_LINKS]:
            attributes = (await cdp.send("DOM.getAttributes", {"nodeId": node_id}))["attributes"]
            href = dict(zip(attributes[::2], attributes[1::2], strict=True)).get("href", "")
            link = _without_fragment(urljoin(base, href.strip()))
            if link.startswith(("http:", "https:")) and same_site(_host(link), site) and link not in links:
                links.append(link)
        return links

    async def _start_tracing(self, cdp: CDPSession) -> bool:
        from playwright.async_api import Error as PlaywrightError

        config = {"includedCategories": [FEATURE_CATEGORY], "excludedCategories": ["*"]}
        try:
            await cdp.send("Tracing.start", {"traceConfig": config, "transferMode": "ReturnAsStream"})
        except PlaywrightError as exc:
            self._warn(f"geolocation use is not observable in this browser: {exc.message}")
            return False
        return True

    async def _geolocation_used(self, cdp: CDPSession) -> bool | None:
        from playwright.async_api import Error as PlaywrightError

        complete: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def completed(event: dict[str, Any]) -> None:
            if not complete.done():
                complete.set_result(event)

        cdp.once("Tracing.tracingComplete", completed)
        try:
            await cdp.send("Tracing.end")
            stream = (await asyncio.wait_for(complete, self.options.timeout_s))["stream"]
            chunks = []
            while True:
                chunk = await cdp.send("IO.read", {"handle": stream})
                chunks.append(chunk["data"])
                if chunk.get("eof"):
                    break
            await cdp.send("IO.close", {"handle": stream})
        except (PlaywrightError, TimeoutError) as exc:
            self._warn(f"geolocation use could not be read from the trace: {exc}")
            return None
        trace = json.loads("".join(chunks) or "[]")
        events = trace.get("traceEvents", []) if isinstance(trace, dict) else trace
        return any(
            e.get("name") == "FeatureFirstUsed" and e.get("args", {}).get("feature") in GEOLOCATION_FEATURES
            for e in events
        )


async def collect(urls: list[str], options: AuditOptions, progress: Callable[[str], None] | None = None) -> Observation:
    """Visit `urls` (and, with `options.crawl`, same-site links) in one browser context."""
    report = progress or (lambda _message: None)
    async with browser_context(options) as (context, version):
        collector = Collector(context, options, report)
        pages = await collector.crawl(urls)
        if options.har_path:
            report(f"writing the HAR to {options.har_path}")
    return Observation(
        pages=pages,
        sightings=list(collector.sightings.values()),
        requests=collector.requests,
        browser=version,
        warnings=collector.warnings,
    )

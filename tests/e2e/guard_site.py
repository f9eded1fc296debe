"""A static site whose pages load guard.js first, rendered from fixed declarations, for the guard's page tests.

Pages come from the `static_site` fixture (a real origin, http://127.0.0.1:<port>, a secure context
so cookieStore exists); guard.js and the violation intake are answered by Playwright routes, so
these tests need no database. `reports()` returns what the guard sent, once a sentinel report
sent last has arrived (so everything sent before it is in).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from governance.enforcement import guardjs
from policy_docs.schemas import Duration
from tests.unit.enforcement.declarations import cookie, storage

DECLARATIONS = [
    cookie("ms_access", http_only=True, same_site="lax", path="/"),
    cookie("ms_csrf", http_only=False, same_site="lax", path="/"),  # 30 days
    cookie("ms_theme", duration=Duration(kind="session", text="session"), path="/"),
    storage("local_storage", "ms_journey_visitor_id"),
    storage("local_storage", "ms_journey_session_id"),
    storage("local_storage", "ms_journey_first_touch"),
    storage("local_storage", "ms_draft_", match="prefix"),
    storage("session_storage", "ms_tab_", match="prefix"),
]
GUARD = '<script src="/guard.js"></script>'
REPORT_FIELDS = {"kind", "name", "reason", "mode", "page", "user_agent"}
REPORT_SECONDS = 10  # bound on waiting for a beacon


def page_html(body: str = "", *, before: str = "") -> str:
    """A page whose first script is guard.js, unless `before` puts something ahead of it."""
    return f"<!doctype html><html><head>{before}{GUARD}</head><body>{body}</body></html>"


class GuardedSite:
    _sentinels = itertools.count()

    def __init__(self, page: Any, static_site: Callable[[dict[str, str]], str], mode: str, pages: dict[str, str]):
        self.page = page
        self.mode = mode
        self.url = static_site({"/": page_html(), **pages})
        self.beacons: list[dict[str, Any]] = []
        self.errors: list[str] = []
        script = guardjs.render(DECLARATIONS, mode=mode, version=7)
        context = page.context
        context.route(f"{self.url}/guard.js", lambda route: route.fulfill(body=script, content_type="text/javascript"))
        context.route(f"{self.url}/governance/violations", self._intake)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _intake(self, route: Any) -> None:
        self.beacons.append(json.loads(route.request.post_data))
        route.fulfill(status=204)

    def open(self, path: str = "/") -> None:
        self.page.goto(self.url + path)

    def run(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def reports(self) -> set[tuple[str, str, str]]:
        """(kind, name, reason) of every report so far, each checked for its shape and mode."""
        sentinel = f"zz_sentinel_{next(self._sentinels)}"
        self.run("(name) => localStorage.setItem(name, 'x')", sentinel)
        deadline = time.monotonic() + REPORT_SECONDS
        while not any(b["name"] == sentinel for b in self.beacons) and time.monotonic() < deadline:
            self.page.wait_for_timeout(25)  # lets Playwright deliver the intake route's requests
        found = set()
        for beacon in self.beacons:
            assert set(beacon) == REPORT_FIELDS and beacon["mode"] == self.mode, beacon
            assert beacon["page"].startswith(self.url) and "Chrome" in beacon["user_agent"], beacon
            if not beacon["name"].startswith("zz_sentinel_"):
                found.add((beacon["kind"], beacon["name"], beacon["reason"]))
        assert any(b["name"] == sentinel for b in self.beacons), "the sentinel report never arrived"
        return found

    def wait_for_report(self, name: str, seconds: float) -> None:
        """Wait (bounded) for a report about `name`: for the guard's own timers, such as the periodic sweep."""
        deadline = time.monotonic() + seconds
        while not any(b["name"] == name for b in self.beacons) and time.monotonic() < deadline:
            self.page.wait_for_timeout(100)

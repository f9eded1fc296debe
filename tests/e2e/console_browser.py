"""What the console's browser tests share: signing in, watching for other origins and errors, and axe-core.

`watch(page, origin)` records every request to another origin, every console error and every page
error; `watcher.assert_clean()` fails on any (a CSP violation is a console error too). `accessible(page)`
runs axe-core at 375 px and at 1280 px and fails on any serious or critical violation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.conftest import LiveServer, Remote

WIDTHS = (375, 1280)
BLOCKING = {"serious", "critical"}


@dataclass
class Watcher:
    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)  # a 4xx the test provokes on purpose

    def on_request(self, request: Any) -> None:
        url = request.url
        if not (url == self.origin or url.startswith((self.origin + "/", "data:", "about:"))):
            self.foreign.append(url)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        if str(message.location.get("url", "")).endswith("/favicon.ico"):
            return  # the public pages name no icon, so the browser asks for /favicon.ico (not a console page)
        status = re.search(r"status of (\d{3})", text)
        if status and int(status[1]) in self.expected_statuses:
            return
        self.errors.append(f"console: {text} at {message.location.get('url')}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"page error: {error}")

    def assert_clean(self) -> None:
        assert self.foreign == [], f"requests to other origins: {self.foreign}"
        assert self.errors == [], "\n".join(self.errors)


def watch(page: Remote, server: LiveServer) -> Watcher:
    watcher = Watcher(server.url)
    page.on("request", watcher.on_request)
    page.on("console", watcher.on_console)
    page.on("pageerror", watcher.on_page_error)
    return watcher


def sign_in(page: Remote, server: LiveServer, user: dict[str, Any]) -> None:
    page.goto(server.url_for("/console/"))
    page.wait_for_url(re.compile(r".*/console/sign-in\?next=.*"))
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/?$"))


class Accessibility:
    """axe-core (bundled by axe-playwright-python), run on the browser thread on the raw page."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.checked: list[str] = []

    def check(self, page: Remote) -> None:
        raw = object.__getattribute__(page, "_target")
        thread = object.__getattribute__(page, "_thread")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            results = thread.call(self.axe.run, raw)
            blocking = [
                f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
                for v in results.response["violations"]
                if v.get("impact") in BLOCKING
            ]
            assert blocking == [], f"axe at {width}px on {page.url}:\n" + "\n".join(blocking)
            if width == 375:  # nothing but tables may scroll sideways on a phone
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{page.url} is {overflow}px wider than a 375px screen"
        page.set_viewport_size({"width": 1280, "height": 900})
        self.checked.append(page.url)

"""Browser-test fixtures, shared by every `tests/e2e/test_*.py`.

- `serve_app(**env)` starts the real app (granian, one worker) in a subprocess on
  127.0.0.1:<free port> against the test database of the `db` fixture, and returns a
  `LiveServer` (`.url`, `.url_for(path)`). Keyword arguments become `MS_*` environment
  variables, e.g. `serve_app(cookie_guard_mode="report")` sets MS_COOKIE_GUARD_MODE=report.
  The server is stopped at the end of the test; its output is shown if it fails to start.
- `live_server`: `serve_app()` with the default settings.
- `browser` (one per session) and `page` (a fresh context and page per test): Playwright's
  sync API driving Debian's /usr/bin/chromium, run on a thread of its own (see `BrowserThread`);
  use them as usual (`page.goto`, `page.evaluate`, `page.route`...). Never downloads a browser.
- `static_site`: serves a dict {path: html} on 127.0.0.1:<free port> (a third-party page).

Every test in tests/e2e is marked `e2e`. Without /usr/bin/chromium or Playwright the browser
tests are skipped with the reason, unless REQUIRE_BROWSER=1 (CI), which makes them fail.
Like every `db` test, each runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 45  # bound on waiting for /health
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    _stop(process)
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    pytest.fail(f"the app did not start at {url} within {STARTUP_SECONDS}s:\n{output[-4000:]}", pytrace=False)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash

    def url_for(self, path: str) -> str:
        return self.url + path


def server_environment(database_url: str, port: int, **settings: Any) -> dict[str, str]:
    """The environment of a served app: the test database, fixed keys, no scheduler, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MS_")}
    env.update(
        MS_ENV="dev",
        MS_DATABASE_URL=database_url,
        MS_JWT_SECRET="e2e-jwt-secret-" + "x" * 32,
        MS_TOKEN_KEYS="e2e:" + "y" * 40,
        MS_RECIPIENT_HASH_KEY="e2e-recipient-" + "r" * 32,
        MS_SCHEDULER_ENABLED="false",
        MS_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        MS_LOG_LEVEL="WARNING",
        MS_SPOOL_LOADER="loop",  # no loader process to start per server: the tracking servers' tests use it
    )
    env.update(
        {
            f"MS_{key.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in settings.items()
        }
    )
    return env


@pytest.fixture
def serve_app(db: Database, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    processes: list[subprocess.Popen[bytes]] = []

    def serve(**settings: Any) -> LiveServer:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "governance.asgi:app",
        ]
        process = subprocess.Popen(
            command, cwd=tmp_path, env={**server_environment(db.url, port, **settings), "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append(process)
        server = LiveServer(f"http://127.0.0.1:{port}")
        _wait_until_up(server.url, process)
        return server

    yield serve
    for process in processes:
        _stop(process)


@pytest.fixture
def live_server(serve_app: Callable[..., LiveServer]) -> LiveServer:
    return serve_app()


class BrowserThread:
    """Runs Playwright's sync API on a thread of its own.

    Playwright's sync API keeps an event loop marked as running on the thread that starts it;
    on pytest's main thread that would break every later `asyncio.run` (the `db` fixture,
    migrations, other test modules). So Playwright lives here and `Remote` forwards calls to it.
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.pool.submit(function, *args, **kwargs).result()


class Remote:
    """A Playwright object (Browser, Page, Locator, ...) used from the test thread: every method
    call runs on the browser thread, and Playwright objects it returns are wrapped again.
    Callbacks you pass (e.g. `page.route(url, handler)`) run on the browser thread."""

    def __init__(self, thread: BrowserThread, target: Any) -> None:
        object.__setattr__(self, "_thread", thread)
        object.__setattr__(self, "_target", target)

    def _wrap(self, value: Any) -> Any:
        return Remote(self._thread, value) if type(value).__module__.startswith("playwright.") else value

    def __getattr__(self, name: str) -> Any:
        value = self._thread.call(getattr, self._target, name)
        if callable(value):
            return lambda *args, **kwargs: self._wrap(self._thread.call(value, *args, **kwargs))
        return self._wrap(value)


@pytest.fixture(scope="session")
def browser() -> Iterator[Remote]:
    if not Path(CHROMIUM).is_file():
        _skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("Playwright is not installed (pip install -e '.[test]')")
    thread = BrowserThread()
    playwright = thread.call(lambda: sync_playwright().start())
    chromium = thread.call(playwright.chromium.launch, executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield Remote(thread, chromium)
    finally:
        thread.call(chromium.close)
        thread.call(playwright.stop)
        thread.pool.shutdown()


@pytest.fixture
def page(browser: Remote) -> Iterator[Remote]:
    """A fresh browser context and page (no cookies or storage from other tests)."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def static_site() -> Iterator[Callable[[dict[str, str]], str]]:
    """`static_site({"/": "<html>..."})` → base URL of a tiny HTTP server serving those pages."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(pages: dict[str, str]) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()

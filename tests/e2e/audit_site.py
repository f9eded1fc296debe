"""A test site for the live-site audit, and one Chromium per test module to audit it with.

`AuditSite` serves pages on one 127.0.0.1 port. Pages are addressed as http://127.0.0.1:<port>
(the audited, first-party site) and http://localhost:<port> (another site: its iframes, pixels
and scripts are third-party), and the browser resolves the vendor hosts in `VENDOR_HOSTS` to the
same server (`--host-resolver-rules`), with every other name unresolvable: nothing leaves the machine.

`audit_browser` starts Debian's Chromium with the audit's profile and a DevTools port, once per
module; the audit reaches it with `--connect` / `AuditOptions(connect=...)`.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from governance.enforcement.audit import CHROMIUM_ARGS, write_profile
from tests.e2e.conftest import CHROMIUM, _skip_or_fail

VENDOR_HOSTS = ("api-js.mixpanel.com", "cdn.mxpnl.com", "static.hotjar.com")
STARTUP_SECONDS = 20


@dataclass
class Response:
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0  # answer this late (a page that times out)


class AuditSite:
    def __init__(self) -> None:
        self.pages: dict[str, Response] = {}
        self.received: list[tuple[str, str, str]] = []  # (method, host header, path)
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                site.received.append((self.command, self.headers.get("Host", ""), self.path))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                response = site.pages.get(self.path.split("?")[0], Response(status=404, body="not found"))
                if self.command != "GET":
                    response = Response(status=204)
                time.sleep(response.delay_s)
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Access-Control-Allow-Origin", "*")
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body.encode())

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.first = f"http://127.0.0.1:{self.port}"  # the audited site
        self.third = f"http://localhost:{self.port}"  # another site
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, body: str = "", **response: object) -> str:
        self.pages[path] = Response(body=body, **response)  # type: ignore[arg-type]
        return self.first + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class AuditBrowser:
    endpoint: str  # http://127.0.0.1:<port>, for connect_over_cdp / --connect
    site: AuditSite


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"Chromium did not open its DevTools port within {STARTUP_SECONDS}s", pytrace=False)


@pytest.fixture(scope="module")
def audit_browser() -> Iterator[AuditBrowser]:
    if not Path(CHROMIUM).is_file():
        _skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    site = AuditSite()
    rules = ", ".join(
        [
            *(f"MAP {host} 127.0.0.1:{site.port}" for host in VENDOR_HOSTS),
            "MAP * ~NOTFOUND",
            "EXCLUDE localhost",
            "EXCLUDE 127.0.0.1",
        ]
    )
    with tempfile.TemporaryDirectory(prefix="audit-browser-") as directory:
        profile = Path(directory)
        write_profile(profile)
        process = subprocess.Popen(
            [CHROMIUM, "--headless", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             f"--host-resolver-rules={rules}", *CHROMIUM_ARGS, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
        )  # fmt: skip
        try:
            port = _devtools_port(profile, process)
            yield AuditBrowser(endpoint=f"http://127.0.0.1:{port}", site=site)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            site.close()


def closed_port() -> int:
    """A port nothing listens on (bound and released: the kernel will not reuse it at once)."""
    from tests.e2e.conftest import free_port

    return free_port()


SitePages = Callable[[AuditSite], dict[str, str]]

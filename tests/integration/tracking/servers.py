"""Real servers for the durability tests: the app under granian in a process group of its own (so a
test can SIGKILL all of it), a TCP proxy in front of PostgreSQL that a test cuts and restores, and
load that remembers which requests were answered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from auth import service as auth_service
from governance.core.settings import Settings
from tests.integration.tracking.conftest import DOMAIN
from tracking import service
from tracking.schemas import DomainTracking, EmailCreate

ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(settings: Settings, database_url: str, spool_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MS_")}
    env.update(
        MS_ENV="dev",
        MS_DATABASE_URL=database_url,
        MS_JWT_SECRET=settings.jwt_secret,
        MS_TOKEN_KEYS=",".join(f"{key_id}:{secret.decode()}" for key_id, secret in settings.token_keys),
        MS_RECIPIENT_HASH_KEY=settings.recipient_hash_key.decode(),
        MS_SCHEDULER_ENABLED="false",
        MS_LOG_LEVEL="WARNING",
        MS_SPOOL_DIR=str(spool_dir),
        MS_JOURNEY_BATCHES_PER_MINUTE="1000000",
        PYTHONPATH=str(ROOT),
    )
    return env


class Server:
    """`governance.asgi:app` under granian, `workers` processes, its own process group."""

    def __init__(self, env: dict[str, str], workdir: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(workers), "--no-ws", "governance.asgi:app"]  # fmt: skip
        self.log = workdir / f"server-{self.port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the app did not start:\n{self.log.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL to the server and every worker: no shutdown hook runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """A graceful stop (SIGINT): the app's shutdown hooks drain its spools."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


class TcpProxy:
    """127.0.0.1:<port> → target, on a thread of its own. `cut()` drops every connection and refuses
    new ones (a database restarting, a failover); `restore()` accepts again on the same port."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.restore()

    def _call(self, work: Callable[[], Awaitable[Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(work(), self._loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}

    def restore(self) -> None:
        async def listen() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

        self._call(listen)

    def cut(self) -> None:
        async def drop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()  # a reset, as when the server goes away
            self._writers.clear()

        self._call(drop)

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def through(url: str, proxy: TcpProxy) -> str:
    """The same PostgreSQL URL, by way of the proxy."""
    return re.sub(r"@[^/]+/", f"@127.0.0.1:{proxy.port}/", url, count=1)


@dataclass
class Load:
    """What a load run saw: the keys of the requests answered, and what went wrong."""

    answered: list[Any] = field(default_factory=list)
    refused: int = 0  # no answer at all (the server was killed)
    wrong: list[int] = field(default_factory=list)  # answers other than the expected ones
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    milestone: int = 0  # `reached` is set once this many requests were answered
    reached: asyncio.Event = field(default_factory=asyncio.Event)


async def hammer(
    base_url: str,
    requests: Iterable[tuple[Any, str, dict[str, Any] | None]],
    load: Load,
    *,
    concurrency: int = 32,
    ok: tuple[int, ...] = (200, 202, 302),
) -> None:
    """Send `(key, path, json)` requests (GET without json, POST with), `concurrency` at a time, each
    once, until they run out or `load.stop` is set."""
    pending = iter(requests)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False) as client:

        async def worker() -> None:
            for key, path, body in pending:
                if load.stop.is_set():
                    return
                try:
                    if body is None:
                        response = await client.get(path)
                    else:
                        response = await client.post(path, json=body)
                except httpx.HTTPError:
                    load.refused += 1
                    continue
                if response.status_code in ok:
                    load.answered.append(key)
                    if load.milestone and len(load.answered) >= load.milestone:
                        load.reached.set()
                else:
                    load.wrong.append(response.status_code)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seed_clicks(session: Any, settings: Settings, *, emails: int, links: int) -> list[tuple[Any, str, None]]:
    """Emails with many links: one distinct click request per (email id, link index)."""
    context = service.TrackingContext.from_settings(settings)
    account = await auth_service.get_or_create_account(session, "acme")
    domain = await service.add_domain(session, account_id=account.id, name=DOMAIN, actor="test")
    tracking = DomainTracking(track_opens=True, track_clicks=True)
    await service.set_domain_tracking(session, domain, tracking, actor="test")
    requests = []
    for n in range(emails):
        html = "<body>" + "".join(f'<a href="https://shop.example/{n}/{i}">{i}</a>' for i in range(links)) + "</body>"
        data = EmailCreate(
            domain=DOMAIN, recipient=f"reader{n}@mail.example", message_id=f"<{n}@acme.example>", html=html
        )
        done = await service.register_email(session, context, account_id=None, data=data)
        tokens = re.findall(r"/t/c/([A-Za-z0-9_-]+)", done.registered.html or "")
        requests += [((done.email.id, index), f"/t/c/{token}", None) for index, token in enumerate(tokens)]
    return requests

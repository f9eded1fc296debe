"""Serving /cookie-policy (rendered once, cached bytes) vs a bare Litestar route returning the same bytes.

Both apps are driven in-process over raw ASGI (no sockets, no HTTP client), so the ratio
measures what our stack adds per request: auth exclusion, request logging, the Set-Cookie
guard, the cache lookup, the ETag headers. Goal: ratio >= 0.8.

    .venv/bin/python bench/bench_policy_page.py [--requests 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advanced_alchemy.alembic.commands import AlembicCommands
from litestar import Litestar, MediaType, Response, get

from governance.app import create_app
from governance.core.db import alchemy_config
from governance.core.settings import Settings


def bench_settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        jwt_secret="bench-secret-" + "x" * 32,
        token_keys=(("b1", b"bench-token-key-" + b"y" * 32),),
        scheduler_enabled=False,
        log_level="WARNING",
    )


def migrate(db_url: str) -> None:
    """Before the event loop starts: Alembic's env runs its own."""
    AlembicCommands(sqlalchemy_config=alchemy_config(bench_settings(db_url))).upgrade("head")


def bare_app(body: bytes) -> Litestar:
    @get("/cookie-policy", sync_to_thread=False)
    def page() -> Response[bytes]:
        return Response(body, media_type=MediaType.HTML)

    return Litestar(route_handlers=[page], debug=False)


class Lifespan:
    """Drives the ASGI lifespan protocol: startup runs our seeding hook, shutdown closes the engine."""

    def __init__(self, app: Litestar) -> None:
        self.app, self.inbox, self.events = app, asyncio.Queue(), asyncio.Queue()

    async def _send(self, message: dict) -> None:
        await self.events.put(message["type"])

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self._send))
        await self.inbox.put({"type": "lifespan.startup"})
        assert await asyncio.wait_for(self.events.get(), 30) == "lifespan.startup.complete"

    async def shutdown(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.task, 30)


async def get_once(app: Litestar, path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"bench.local"), (b"accept", b"text/html")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    status, chunks = 0, []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def requests_per_second(app: Litestar, count: int, path: str = "/cookie-policy") -> float:
    started = time.perf_counter()
    for _ in range(count):
        await get_once(app, path)
    return count / (time.perf_counter() - started)


async def main(db_url: str, count: int, rounds: int) -> None:
    app = create_app(bench_settings(db_url))
    lifespan = Lifespan(app)
    await lifespan.startup()
    status, body = await get_once(app, "/cookie-policy")
    assert status == 200 and b"Cookie Policy" in body, status
    baseline = bare_app(body)
    status, same = await get_once(baseline, "/cookie-policy")
    assert status == 200 and same == body

    # For the note: the same bare handler inside our app, behind the whole stack including the request log.
    @get("/bench/bare-inside", sync_to_thread=False, exclude_from_auth=True)
    def bare_inside() -> Response[bytes]:
        return Response(body, media_type=MediaType.HTML)

    app.register(bare_inside)
    targets = {
        "ours": (app, "/cookie-policy"),
        "bare": (baseline, "/cookie-policy"),
        "stack": (app, "/bench/bare-inside"),
    }
    for target, path in targets.values():  # warm up
        await requests_per_second(target, min(count, 300), path)
    best = dict.fromkeys(targets, 0.0)
    for _ in range(rounds):  # interleaved, so drift in the machine's load hits all alike
        for name, (target, path) in targets.items():
            best[name] = max(best[name], await requests_per_second(target, count, path))
    await lifespan.shutdown()

    print(f"page size: {len(body)} bytes; {rounds} rounds x {count} requests each, in-process ASGI, best round")
    print(f"/cookie-policy (cached):                  {best['ours']:8.0f} req/s")
    print(f"bare Litestar route, same bytes:          {best['bare']:8.0f} req/s")
    print(f"bare route inside our app (request-logged): {best['stack']:6.0f} req/s")
    print(f"ratio vs bare Litestar: {best['ours'] / best['bare']:.2f}  (goal >= 0.80)")
    print(
        f"(for comparison, a bare handler inside our app that the request log covers: {best['stack'] / best['bare']:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", "3000")))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        migrate(url)
        # The request log goes to stderr: keep its full cost, but off the terminal (until exit,
        # as the log thread drains after the run). A failure is printed on stdout instead.
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                asyncio.run(main(url, args.requests, args.rounds))
            except BaseException:  # noqa: BLE001  (the benchmark prints any failure, then exits 1)
                traceback.print_exc(file=sys.stdout)
                sys.exit(1)

"""Benchmark: /t/o/ and /t/c/ with recording against a bare Litestar route returning the same GIF/redirect.

One run: a fresh SQLite database, the real app and a bare app each served by granian (1 worker) on
127.0.0.1, load from `wrk` (apt-get install wrk) or, without it, a bounded httpx loop. Prints
requests/s and the ratio (goal >= 0.6). Then an exact run of N hits through httpx, a graceful
shutdown (the recorder drains) and a count: the database must hold one event per answered hit.

    .venv/bin/python bench/bench_tracking_routes.py [--seconds 5] [--connections 64] [--exact 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from litestar import Litestar, Response, get

ROOT = Path(__file__).resolve().parent.parent
logging.getLogger("httpx").setLevel(logging.WARNING)
PIXEL_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"


# --- the baseline: a bare Litestar app answering the same bytes --------------------------------


@get("/t/o/{name:str}", sync_to_thread=False)
def bare_pixel(name: str) -> Response[bytes]:
    return Response(PIXEL_GIF, media_type="image/gif", headers={"Cache-Control": NO_STORE, "X-Robots-Tag": "noindex"})


@get("/t/c/{token:str}", sync_to_thread=False)
def bare_redirect(token: str) -> Response[bytes]:
    return Response(
        b"", status_code=302, headers={"Cache-Control": NO_STORE, "Location": "https://shop.example/sale?a=1&b=2"}
    )


@get("/health", sync_to_thread=False)
def bare_health() -> dict[str, str]:
    return {"status": "ok"}


bare_app = Litestar([bare_pixel, bare_redirect, bare_health])


# --- setup -------------------------------------------------------------------------------------------

TOKEN_KEYS = "k2:" + "b" * 40 + ",k1:" + "a" * 40


def bench_env(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MS_DATABASE_URL": db_url,
        "MS_TOKEN_KEYS": TOKEN_KEYS,
        "MS_JWT_SECRET": "j" * 48,
        "MS_RECIPIENT_HASH_KEY": "r" * 48,
        "MS_SCHEDULER_ENABLED": "false",
        "MS_LOG_LEVEL": "WARNING",
        "MS_PUBLIC_BASE_URL": "http://127.0.0.1",
    }


async def seed(db_url: str) -> dict[str, tuple[int, str, str]]:
    """Two emails with opens and clicks on: one for the throughput run, one for the exact count."""
    from auth import service as auth_service
    from governance.core.db import standalone_session
    from governance.core.settings import Settings
    from tracking import service
    from tracking.schemas import DomainTracking, EmailCreate

    settings = Settings.from_env(bench_env(db_url), env_file=None)
    context = service.TrackingContext.from_settings(settings)
    emails = {}
    async with standalone_session(db_url) as session:
        account = await auth_service.get_or_create_account(session, "bench")
        domain = await service.add_domain(session, account_id=account.id, name="bench.example", actor="bench")
        await service.set_domain_tracking(
            session, domain, DomainTracking(track_opens=True, track_clicks=True), actor="bench"
        )
        for name in ("throughput", "exact"):
            html = '<html><body><a href="https://shop.example/sale?a=1&amp;b=2">Sale</a></body></html>'
            done = await service.register_email(
                session,
                context,
                account_id=None,
                data=EmailCreate(
                    domain="bench.example", recipient="r@mail.example", message_id=f"<{name}@bench>", html=html
                ),
            )
            pixel = re.search(r"/t/o/[^\"]+", done.html).group(0)
            click = re.search(r"/t/c/[^\"]+", done.html).group(0)
            emails[name] = (done.email.id, pixel, click)
    return emails


async def count_events(db_url: str, email_id: int) -> int:
    from sqlalchemy import func, select

    from governance.core.db import standalone_session
    from tracking.models import TrackingEvent

    async with standalone_session(db_url) as session:
        return await session.scalar(select(func.count()).where(TrackingEvent.email_id == email_id))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, port: int, env: dict[str, str], workdir: Path) -> subprocess.Popen:
    granian = Path(sys.executable).parent / "granian"
    process = subprocess.Popen(
        [
            str(granian),
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-ws",
            "--log-level",
            "warning",
            target,
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    import httpx

    for _ in range(200):  # bounded wait for readiness
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{target} did not start: {process.stderr.read().decode()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    """Graceful: SIGINT, so the app's shutdown hooks (the recorder's drain) run."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


# --- load ----------------------------------------------------------------------------------------------


def load_wrk(url: str, seconds: int, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), answered


async def load_httpx(url: str, total: int, concurrency: int) -> tuple[float, int]:
    """Exactly `total` requests, `concurrency` at a time; returns (req/s, answered)."""
    import httpx

    answered = 0
    remaining = iter(range(total))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal answered
            for _ in remaining:
                response = await client.get(url)
                if response.status_code not in (200, 302):
                    raise RuntimeError(f"{url}: {response.status_code}")
                answered += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started), answered


def measure(url: str, args: argparse.Namespace) -> tuple[float, int]:
    if shutil.which("wrk"):
        return load_wrk(url, args.seconds, args.connections)
    return asyncio.run(load_httpx(url, args.requests, args.connections))


def wait_until_written(db_url: str, email_id: int) -> None:
    """The recorder writes behind the answers: let it finish before the next measurement (bounded)."""
    last = -1
    for _ in range(200):
        now = asyncio.run(count_events(db_url, email_id))
        if now == last:
            return
        last = now
        time.sleep(0.25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="bare and app runs alternate, per route")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=10_000, help="per run when wrk is absent")
    parser.add_argument("--exact", type=int, default=2000, help="hits of the exact durability check")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)

    from advanced_alchemy.alembic.commands import AlembicCommands

    from governance.core.db import alchemy_config
    from governance.core.settings import Settings

    rates: dict[str, list[tuple[float, float]]] = {"/t/o/": [], "/t/c/": []}
    answered = 0
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        env = bench_env(db_url)
        AlembicCommands(sqlalchemy_config=alchemy_config(Settings.from_env(env, env_file=None))).upgrade("head")
        emails = asyncio.run(seed(db_url))
        print(
            f"load: {'wrk' if shutil.which('wrk') else 'httpx'}, {args.connections} connections; granian, 1 worker each; SQLite"
        )

        throughput_id, pixel, click = emails["throughput"]
        bare_port, app_port = free_port(), free_port()
        bare = serve("bench_tracking_routes:bare_app", bare_port, env, ROOT / "bench")
        app = serve("governance.asgi:app", app_port, env, ROOT)
        try:
            # Alternate bare and app runs so that load from elsewhere on the machine hits both alike.
            for _ in range(args.rounds):
                for route, path in (("/t/o/", pixel), ("/t/c/", click)):
                    bare_rate, _ = measure(f"http://127.0.0.1:{bare_port}{path}", args)
                    app_rate, hits = measure(f"http://127.0.0.1:{app_port}{path}", args)
                    answered += hits
                    rates[route].append((bare_rate, app_rate))
                    wait_until_written(db_url, throughput_id)  # recording is charged to the app's run only
            exact_id, exact_pixel, exact_click = emails["exact"]
            half = args.exact // 2
            asyncio.run(load_httpx(f"http://127.0.0.1:{app_port}{exact_pixel}", half, 32))
            asyncio.run(load_httpx(f"http://127.0.0.1:{app_port}{exact_click}", args.exact - half, 32))
        finally:
            stop(bare)
            stop(app)  # graceful: the recorder drains its queue before the process exits

        recorded = asyncio.run(count_events(db_url, throughput_id))
        exact = asyncio.run(count_events(db_url, exact_id))

    print(
        f"{'route':<8}{'bare req/s':>12}{'app req/s':>12}{'ratio':>8}   (median of {args.rounds} alternating runs of {args.seconds} s)"
    )
    ratios = []
    for route, pairs in rates.items():
        bare_rate = statistics.median(b for b, _ in pairs)
        app_rate = statistics.median(a for _, a in pairs)
        ratio = statistics.median(a / b for b, a in pairs)
        ratios.append(ratio)
        print(
            f"{route:<8}{bare_rate:>12.0f}{app_rate:>12.0f}{ratio:>8.2f}   runs: "
            + ", ".join(f"{a / b:.2f}" for b, a in pairs)
        )
    print(f"throughput runs: {answered} hits answered (as counted by the load tool), {recorded} events in the database")
    print(f"exact run: {args.exact} hits answered, {exact} events in the database")
    ok = recorded >= answered and exact == args.exact
    print(f"min ratio {min(ratios):.2f} (goal >= 0.60); every answered hit recorded: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

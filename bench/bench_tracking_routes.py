"""Benchmark: /t/o/ and /t/c/ with every hit durable before its answer, against a bare Litestar route
returning the same GIF/redirect; a kill -9 mid-run; the pixel's latency while 5 MB emails are rewritten.

One run, a fresh SQLite database, the real app and a bare app each served by granian (1 worker) on
127.0.0.1:

1. Throughput: load from `wrk` (apt-get install wrk; a bounded httpx loop without it), bare and app
   runs alternating; requests/s and the ratio (goal >= 0.6). Every hit is fsynced to the app's spool
   before its pixel or redirect is sent; the database is loaded behind the answers.
   `--spool-loader process,loop`: one app server per spool loader (MS_SPOOL_LOADER), side by side.
2. Kill -9: distinct click links, 32 at a time; the app is killed with SIGKILL (server and worker)
   midway, restarted on the same spool, then stopped gracefully. Every answered hit must be in the
   database, once (a hit fsynced whose answer died with the process is stored too: it is counted).
3. Rewriting off the event loop: the pixel's p99 latency (wrk --latency, a few connections) alone
   and while 5 MB emails are registered back to back (JSON in, rewritten bodies out), for the
   process pool (the default) and for a worker thread (MS_REWRITE_PROCESSES=0), in the same run.
   Goal: p99 during rewriting within 2x of p99 alone.

    .venv/bin/python bench/bench_tracking_routes.py [--seconds 3] [--rounds 5] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
import threading
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


def bench_env(db_url: str, spool: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MS_DATABASE_URL": db_url,
        "MS_TOKEN_KEYS": TOKEN_KEYS,
        "MS_JWT_SECRET": "j" * 48,
        "MS_RECIPIENT_HASH_KEY": "r" * 48,
        "MS_SCHEDULER_ENABLED": "false",
        "MS_LOG_LEVEL": "WARNING",
        "MS_PUBLIC_BASE_URL": "http://127.0.0.1",
        "MS_SPOOL_DIR": spool,
        **extra,
    }


async def seed(db_url: str, env: dict[str, str], exact_links: int) -> dict[str, object]:
    """An email for the throughput runs, one with `exact_links` distinct links for the kill run, an API key."""
    from auth import service as auth_service
    from governance.core.db import standalone_session
    from governance.core.settings import Settings
    from tracking import service
    from tracking.schemas import DomainTracking, EmailCreate

    settings = Settings.from_env(env, env_file=None)
    context = service.TrackingContext.from_settings(settings)
    async with standalone_session(db_url) as session:
        account = await auth_service.get_or_create_account(session, "bench")
        domain = await service.add_domain(session, account_id=account.id, name="bench.example", actor="bench")
        tracking = DomainTracking(track_opens=True, track_clicks=True)
        await service.set_domain_tracking(session, domain, tracking, actor="bench")

        async def register(name: str, html: str) -> tuple[int, str]:
            data = EmailCreate(domain="bench.example", recipient="r@mail.example", message_id=f"<{name}@b>", html=html)
            done = await service.register_email(session, context, account_id=None, data=data)
            return done.email.id, done.registered.html or ""

        throughput_id, html = await register("throughput", '<body><a href="https://shop.example/sale">S</a></body>')
        links = "".join(f'<a href="https://shop.example/{i}">{i}</a>' for i in range(exact_links))
        exact_id, exact_html = await register("exact", f"<body>{links}</body>")
        api_key = (await auth_service.create_api_key(session, account_id=account.id, name="bench"))[1]
    return {
        "throughput_id": throughput_id,
        "pixel": re.search(r"/t/o/[^\"]+", html).group(0),
        "click": re.search(r"/t/c/[^\"]+", html).group(0),
        "exact_id": exact_id,
        "exact_clicks": re.findall(r"/t/c/[A-Za-z0-9_-]+", exact_html),
        "api_key": api_key,
    }


async def count_events(db_url: str, email_id: int, distinct_links: bool = False) -> int:
    from sqlalchemy import distinct, func, select

    from governance.core.db import standalone_session
    from tracking.models import TrackingEvent

    counted = func.count(distinct(TrackingEvent.link_index)) if distinct_links else func.count()
    async with standalone_session(db_url) as session:
        return await session.scalar(select(counted).where(TrackingEvent.email_id == email_id))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, port: int, env: dict[str, str], workdir: Path) -> subprocess.Popen:
    granian = Path(sys.executable).parent / "granian"
    command = [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--no-ws", "--log-level", "warning", target]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    import httpx

    for _ in range(400):  # bounded wait for readiness
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"{target} did not start: {process.stderr.read().decode()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    """Graceful: SIGINT, so the app's shutdown hooks (the spool's drain) run."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


# --- load ----------------------------------------------------------------------------------------------


def wrk(url: str, seconds: int, connections: int) -> str:
    return subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout


def load_wrk(url: str, seconds: int, connections: int) -> tuple[float, int]:
    out = wrk(url, seconds, connections)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), answered


def p99_wrk(url: str, seconds: int, connections: int) -> float:
    """The 99th percentile latency wrk measured, in ms."""
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", wrk(url, seconds, connections)).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def load_httpx(urls: list[str], concurrency: int, halfway: asyncio.Event | None = None) -> list[str]:
    """Each URL once, `concurrency` at a time; returns the URLs answered (200/302). `halfway` is set
    when half were answered (the caller may kill the server then: unanswered requests do not count)."""
    import httpx

    answered: list[str] = []
    pending = iter(urls)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=10) as client:

        async def worker() -> None:
            for url in pending:
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code in (200, 302):
                    answered.append(url)
                    if halfway is not None and len(answered) >= len(urls) // 2:
                        halfway.set()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answered


def measure(url: str, args: argparse.Namespace) -> tuple[float, int]:
    if shutil.which("wrk"):
        return load_wrk(url, args.seconds, args.connections)
    began = time.perf_counter()
    answered = asyncio.run(load_httpx([url] * args.requests, args.connections))
    return len(answered) / (time.perf_counter() - began), len(answered)


def wait_until_written(db_url: str, email_id: int, at_least: int = 0) -> int:
    """The loader writes behind the answers: let it finish (bounded) before the next measurement."""
    last = -1
    for _ in range(400):
        now = asyncio.run(count_events(db_url, email_id))
        if now == last and now >= at_least:
            return now
        last = now
        time.sleep(0.25)
    return last


# --- the three parts ---------------------------------------------------------------------------------------


def throughput(db_url: str, env: dict[str, str], seeded: dict, args: argparse.Namespace, tmp: Path) -> list[float]:
    """The app (one server per spool loader asked for, the default's first) against the bare app.
    Returns the ratios of the first loader's server."""
    loaders = args.spool_loader
    rates: dict[tuple[str, str], list[tuple[float, float]]] = {
        (r, lo): [] for lo in loaders for r in ("/t/o/", "/t/c/")
    }
    bare_port = free_port()
    bare = serve("bench_tracking_routes:bare_app", bare_port, env, ROOT / "bench")
    apps = {}
    for loader in loaders:
        port = free_port()
        apps[loader] = port, serve("governance.asgi:app", port, {**env, "MS_SPOOL_LOADER": loader}, ROOT)
    answered = 0
    try:
        for _ in range(args.rounds):  # alternate, so that load from elsewhere on the machine hits all alike
            for route, path in (("/t/o/", seeded["pixel"]), ("/t/c/", seeded["click"])):
                for loader, (app_port, _) in apps.items():
                    bare_rate, _ = measure(f"http://127.0.0.1:{bare_port}{path}", args)
                    app_rate, hits = measure(f"http://127.0.0.1:{app_port}{path}", args)
                    answered += hits
                    rates[route, loader].append((bare_rate, app_rate))
                    wait_until_written(db_url, seeded["throughput_id"])  # loading is charged to the app's run only
    finally:
        stop(bare)
        for _, app in apps.values():
            stop(app)
    recorded = asyncio.run(count_events(db_url, seeded["throughput_id"]))
    print(f"1. throughput, {'wrk' if shutil.which('wrk') else 'httpx'} -c{args.connections}, granian 1 worker each:")
    print(f"   {'route':<8}{'loader':>9}{'bare req/s':>12}{'app req/s':>12}{'ratio':>8}"
          f"   (median of {args.rounds} runs of {args.seconds} s)")  # fmt: skip
    ratios = []
    for (route, loader), pairs in rates.items():
        ratio = statistics.median(a / b for b, a in pairs)
        if loader == loaders[0]:
            ratios.append(ratio)
        print(f"   {route:<8}{loader:>9}{statistics.median(b for b, _ in pairs):>12.0f}"
              f"{statistics.median(a for _, a in pairs):>12.0f}{ratio:>8.2f}   runs: "
              + ", ".join(f"{a / b:.2f}" for b, a in pairs))  # fmt: skip
    print(f"   {answered} hits answered (counted by the load tool), {recorded} events stored (>= answered: wrk does"
          " not count the requests in flight when a run ends)")  # fmt: skip
    if recorded < answered:
        raise SystemExit("answered hits are missing from the database")
    return ratios


def kill_mid_run(db_url: str, env: dict[str, str], seeded: dict) -> bool:
    clicks = seeded["exact_clicks"]
    port = free_port()
    app = serve("governance.asgi:app", port, env, ROOT)
    urls = [f"http://127.0.0.1:{port}{path}" for path in clicks]
    answered: list[str] = []

    async def load_then_kill() -> None:
        halfway = asyncio.Event()
        done = asyncio.create_task(load_httpx(urls, 32, halfway))
        await halfway.wait()
        await asyncio.to_thread(kill, app)
        answered.extend(await done)

    asyncio.run(load_then_kill())
    restarted = serve("governance.asgi:app", port, env, ROOT)  # replays what the killed worker left
    stored = wait_until_written(db_url, seeded["exact_id"], at_least=len(answered))
    stop(restarted)
    stored = asyncio.run(count_events(db_url, seeded["exact_id"]))
    distinct = asyncio.run(count_events(db_url, seeded["exact_id"], distinct_links=True))
    print(f"2. kill -9 mid-run: {len(clicks)} distinct links, 32 at a time; SIGKILL after {len(answered)} answers,"
          f" restart, graceful stop")  # fmt: skip
    ok = stored >= len(answered) and stored == distinct
    print(f"   hits answered {len(answered)}, events stored {stored} ({stored - len(answered)} fsynced whose answer"
          f" died with the process), each link stored once: {'yes' if stored == distinct else 'NO'}")  # fmt: skip
    return ok


def large_email_body(size: int = 4_900_000) -> bytes:  # just under MAX_BODY_CHARS
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_rewrite import large_email

    html = large_email(size)
    body = {"domain": "bench.example", "recipient": "r@mail.example", "message_id": "<large@b>", "html": html}
    return json.dumps(body).encode()


def register_until(url: str, body: bytes, headers: dict[str, str], done: threading.Event, count: list[int]) -> None:
    import httpx

    with httpx.Client(timeout=60) as client:
        while not done.is_set():
            count[0] += client.post(url, content=body, headers=headers).status_code == 201


def pixel_p99s(
    env: dict[str, str], processes: str, seeded: dict, body: bytes, seconds: int, rounds: int
) -> tuple[float, float, int]:
    """Median over `rounds` of (p99 alone, p99 while 2 clients register the large email back to back),
    alternating, so that load from elsewhere on the machine hits both alike; and emails registered."""
    import httpx

    port = free_port()
    app = serve("governance.asgi:app", port, {**env, "MS_REWRITE_PROCESSES": processes}, ROOT)
    pixel, emails = f"http://127.0.0.1:{port}{seeded['pixel']}", f"http://127.0.0.1:{port}/api/emails"
    headers = {"Authorization": f"Bearer {seeded['api_key']}", "Content-Type": "application/json"}
    alone, during, registered = [], [], [0]
    try:
        with httpx.Client(timeout=60) as client:  # warm: the pool's processes start with the first large email
            assert client.post(emails, content=body, headers=headers).status_code == 201
        for _ in range(rounds):
            alone.append(p99_wrk(pixel, seconds, 8))
            done = threading.Event()
            clients = [threading.Thread(target=register_until, args=(emails, body, headers, done, registered))
                       for _ in range(2)]  # fmt: skip
            for thread in clients:
                thread.start()
            time.sleep(0.5)  # the first emails are in flight
            during.append(p99_wrk(pixel, seconds, 8))
            done.set()
            for thread in clients:
                thread.join(timeout=120)
    finally:
        stop(app)
    return statistics.median(alone), statistics.median(during), registered[0]


def rewrite_latency(
    env: dict[str, str], seeded: dict, seconds: int, rounds: int
) -> dict[str, tuple[float, float, int]]:
    """{mode: (pixel p99 alone, pixel p99 while rewriting, emails registered)}."""
    body = large_email_body()
    results = {
        mode: pixel_p99s(env, processes, seeded, body, seconds, rounds)
        for mode, processes in (("process pool (2)", "2"), ("worker thread", "0"))
    }
    print(f"3. pixel p99 (wrk -c8, {seconds} s; median of {rounds} alternating runs) alone and while 5 MB emails"
          f" ({len(body) / 1e6:.1f} MB of JSON) are registered back to back by 2 clients:")  # fmt: skip
    for mode, (alone, during, registered) in results.items():
        print(f"   {mode:<18} alone {alone:7.2f} ms   during {during:7.2f} ms   {during / alone:5.2f}x"
              f"   ({registered} emails rewritten meanwhile)")  # fmt: skip
    return results


async def tick(done: asyncio.Event, stalls: list[float]) -> None:
    """Every millisecond, how late the event loop woke it."""
    loop = asyncio.get_running_loop()
    while not done.is_set():
        began = loop.time()
        await asyncio.sleep(0.001)
        stalls.append(loop.time() - began - 0.001)


def loop_stalls(db_url: str, env: dict[str, str], seeded: dict, registrations: int) -> None:
    """The longest stalls of the app's event loop (a 1 ms ticker on it) while 5 MB emails register
    one after another: what a pixel request arriving meanwhile would wait, without the disk's noise."""
    from litestar.testing import TestClient

    from governance.app import create_app
    from governance.core.settings import Settings

    logging.disable(logging.INFO)  # the in-process app's request log
    body = large_email_body()
    headers = {"Authorization": f"Bearer {seeded['api_key']}", "Content-Type": "application/json"}
    print(f"   event-loop stalls (1 ms ticker on the app's loop, in-process) during {registrations} registrations:")
    for mode, processes in (("process pool (2)", "2"), ("worker thread", "0")):
        own_spool = f"{env['MS_SPOOL_DIR']}-{processes}"  # nothing left by the servers above to replay meanwhile
        settings = Settings.from_env(
            {**env, "MS_REWRITE_PROCESSES": processes, "MS_SPOOL_DIR": own_spool}, env_file=None
        )
        stalls: list[float] = []
        with TestClient(create_app(settings), base_url="http://bench.local") as client:
            client.post("/api/emails", content=body, headers=headers)  # warm the pool
            done = client.blocking_portal.call(asyncio.Event)
            client.blocking_portal.start_task_soon(tick, done, stalls)
            began = time.perf_counter()
            for _ in range(registrations):
                assert client.post("/api/emails", content=body, headers=headers).status_code == 201
            elapsed = time.perf_counter() - began
            client.blocking_portal.call(done.set)
        stalls.sort()
        print(f"   {mode:<18} longest {stalls[-1] * 1000:6.1f} ms, p99 {stalls[int(len(stalls) * 0.99)] * 1000:5.1f} ms,"
              f" {elapsed / registrations * 1000:5.0f} ms per registration")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="bare and app runs alternate, per route")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=10_000, help="per run when wrk is absent")
    parser.add_argument("--exact", type=int, default=3000, help="distinct links of the kill -9 run")
    parser.add_argument("--latency-seconds", type=int, default=5, help="per p99 measurement")
    parser.add_argument("--latency-rounds", type=int, default=5, help="alone/during pairs per rewriting mode")
    parser.add_argument("--skip", choices=("throughput", "kill", "rewrite"), action="append", default=[])
    parser.add_argument("--spool-loader", type=lambda v: v.split(","), default=["process"],
                        help="MS_SPOOL_LOADER of the app's servers: process, loop, or process,loop (side by side)")  # fmt: skip
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)

    from advanced_alchemy.alembic.commands import AlembicCommands

    from governance.core.db import alchemy_config
    from governance.core.settings import Settings

    ok = True
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        env = bench_env(db_url, str(tmp / "spool"))
        AlembicCommands(sqlalchemy_config=alchemy_config(Settings.from_env(env, env_file=None))).upgrade("head")
        seeded = asyncio.run(seed(db_url, env, args.exact))
        print("SQLite; every hit fsynced to the spool before its answer")
        if "throughput" not in args.skip:
            ratios = throughput(db_url, env, seeded, args, tmp)
            ok &= min(ratios) >= 0.6
            print(f"   min ratio {min(ratios):.2f} (goal >= 0.60)")
        if "kill" not in args.skip:
            ok &= kill_mid_run(db_url, env, seeded)
        if "rewrite" not in args.skip:
            results = rewrite_latency(env, seeded, args.latency_seconds, args.latency_rounds)
            alone, during, _ = results["process pool (2)"]
            print(f"   process pool: {during / alone:.2f}x (goal <= 2x)")
            loop_stalls(db_url, env, seeded, 10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

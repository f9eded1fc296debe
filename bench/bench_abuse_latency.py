"""Benchmark: the pixel and click routes' p99 latency alone and while 50 slow-body clients and a burst
of wrong-password logins run (issue 14 §1; goal: within 2x).

One run, a fresh SQLite database, the app served by granian (1 worker, production Argon2) on
127.0.0.1. The measuring client hits the pixel and the redirect one after another on one
connection; the abuse comes from another process (so its Python work is not queued in front of the
measurement): 50 requests with a valid API key sending their body a byte every 100 ms, and 30 wrong
passwords for distinct accounts from distinct forwarded clients (`MS_TRUSTED_PROXIES=127.0.0.1`, so
the per-client login limit does not turn them into cheap 429s). Rounds alternate alone / under abuse
so that load from elsewhere on the machine hits both alike; `/health` must stay 200 throughout.

    .venv/bin/python bench/bench_abuse_latency.py [--rounds 5] [--hits 300]

BENCH_SLOW_CLIENTS=0 or BENCH_WRONG_LOGINS=0 measures one kind of abuse alone.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tracking_routes import ROOT, bench_env, free_port, seed, serve, stop

SLOW_CLIENTS = int(os.environ.get("BENCH_SLOW_CLIENTS", "50"))
WRONG_LOGINS = int(os.environ.get("BENCH_WRONG_LOGINS", "30"))


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def timed_hits(base: str, paths: list[str], hits: int) -> list[float]:
    took = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(hits):
            started = time.perf_counter()
            response = client.get(paths[n % len(paths)])
            took.append(time.perf_counter() - started)
            if response.status_code not in (200, 302):
                raise SystemExit(f"{paths[n % len(paths)]} answered {response.status_code}")
    return took


async def slow_upload(port: int, api_key: str, seconds: float) -> None:
    """An authenticated POST whose body arrives a byte every 100 ms, on a raw socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = int(seconds * 10)
    writer.write(
        f"POST /api/emails HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
    )
    try:
        for _ in range(length):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.1)
        await reader.read(4096)
    except (ConnectionError, OSError):
        pass  # cut off by the body deadline: that is allowed
    finally:
        writer.close()


async def wrong_logins(base: str, round_number: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one(n: int) -> int:
            forwarded = {"X-Forwarded-For": f"10.{round_number}.{n // 250}.{n % 250 + 1}"}
            body = {"email": f"nobody{round_number}-{n}@example.test", "password": "wrong"}
            return (await client.post("/auth/login", json=body, headers=forwarded)).status_code

        return list(await asyncio.gather(*(one(n) for n in range(WRONG_LOGINS))))


def abuse(port: int, api_key: str, round_number: int, seconds: float, statuses: multiprocessing.Queue) -> None:
    async def run() -> list[int]:
        slow = [slow_upload(port, api_key, seconds) for _ in range(SLOW_CLIENTS)]
        results = await asyncio.gather(wrong_logins(f"http://127.0.0.1:{port}", round_number), *slow)
        return results[0]

    statuses.put(asyncio.run(run()))


def under_abuse(port: int, seeded: dict, paths: list[str], hits: int, round_number: int) -> tuple[list[float], int]:
    base = f"http://127.0.0.1:{port}"
    statuses: multiprocessing.Queue = multiprocessing.Queue()
    abuser = multiprocessing.Process(target=abuse, args=(port, seeded["api_key"], round_number, 6.0, statuses))
    abuser.start()
    time.sleep(0.5)  # the slow uploads are connected and the logins hashing
    took = timed_hits(base, paths, hits)
    health = httpx.get(f"{base}/health", timeout=30).status_code
    logins = statuses.get(timeout=120)
    abuser.join(timeout=60)
    if logins and set(logins) != {401}:
        raise SystemExit(f"the wrong logins answered {sorted(set(logins))}, not 401")
    return took, health


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alone / under-abuse pairs")
    parser.add_argument("--hits", type=int, default=300, help="timed requests per measurement")
    args = parser.parse_args()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from advanced_alchemy.alembic.commands import AlembicCommands

    from governance.core.db import alchemy_config
    from governance.core.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite+aiosqlite:///{folder}/bench.db"
        env = bench_env(db_url, f"{folder}/spool", MS_TRUSTED_PROXIES="127.0.0.1", MS_BODY_TIMEOUT_SECONDS="30")
        AlembicCommands(sqlalchemy_config=alchemy_config(Settings.from_env(env, env_file=None))).upgrade("head")
        seeded = asyncio.run(seed(db_url, env, 1))
        paths = [seeded["pixel"], seeded["click"]]
        port = free_port()
        app = serve("governance.asgi:app", port, env, ROOT)
        alone, during, healths = [], [], []
        try:
            timed_hits(f"http://127.0.0.1:{port}", paths, args.hits)  # warm up
            for round_number in range(args.rounds):
                alone.append(p99(timed_hits(f"http://127.0.0.1:{port}", paths, args.hits)))
                took, health = under_abuse(port, seeded, paths, args.hits, round_number)
                during.append(p99(took))
                healths.append(health)
        finally:
            stop(app)
    ratios = [b / a for a, b in zip(alone, during, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"pixel + click p99 ({args.hits} sequential hits; median of {args.rounds} alternating rounds), granian 1 worker:"
    )
    print(f"   alone {statistics.median(alone) * 1000:6.2f} ms   under {SLOW_CLIENTS} slow bodies + {WRONG_LOGINS}"
          f" wrong logins {statistics.median(during) * 1000:6.2f} ms   ratio {ratio:.2f} (goal <= 2)")  # fmt: skip
    print("   rounds: " + ", ".join(f"{r:.2f}" for r in ratios) + f"; /health under abuse: {sorted(set(healths))}")
    return 0 if ratio <= 2 and set(healths) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())

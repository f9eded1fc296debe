"""Cost of the Set-Cookie guard: a route setting the two declared session cookies, with and without it.

Drives the ASGI apps in-process (no sockets), so the guard's share is not diluted by network
and server time: the strictest measure. Our app already has a `before_send` hook
(advanced-alchemy's autocommit), so the guard's cost there is the guard hook on top of one;
`guard_asgi` around a bare app also pays for the ASGI wrapping any middleware costs. Throughput is per CPU second of this process, so other
load on the machine skews it less; short rounds run the variants in a shuffled order, and the ratio
is the median of each round's ratio to the bare app. Goal: the guard costs at most 5%.
Also prints the size of guard.js generated from the same declarations.

    .venv/bin/python bench/bench_cookie_guard.py [requests_per_round] [rounds]
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litestar import Litestar, Response, get
from litestar.datastructures import Cookie

from governance.enforcement import guard_asgi, guardjs, static_source
from governance.enforcement.guard import CookieGuard
from policy_docs.seed import load_seed

DECLARATIONS = load_seed().content.declarations  # the policy's own data files
COMMON = {"path": "/", "samesite": "lax", "max_age": 30 * 24 * 3600}


@get("/login", sync_to_thread=False)
def login() -> Response[str]:
    return Response(
        "ok",
        cookies=[
            Cookie(key="ms_access", value="a" * 180, httponly=True, **COMMON),
            Cookie(key="ms_csrf", value="c" * 43, **COMMON),
        ],
    )


def violation(report: object) -> None:
    raise AssertionError(f"the benchmark route must be compliant: {report}")


async def autocommit_like(message: object, scope: object) -> None:
    """Stands for advanced-alchemy's autocommit hook, which our app always has."""
    return


def build() -> dict[str, tuple[object, str]]:
    """name -> (app, the baseline its ratio is taken against)."""
    source = static_source(DECLARATIONS, number=1)
    hook = CookieGuard(source, mode="enforce", on_violation=violation)
    return {
        "bare": (Litestar([login]), "bare"),
        "guard_asgi(bare)": (guard_asgi(Litestar([login]), source, on_violation=violation), "bare"),
        "with a before_send hook": (Litestar([login], before_send=[autocommit_like]), "bare"),
        "... + guard hook (our app)": (
            Litestar([login], before_send=[autocommit_like, hook.before_send]),
            "with a before_send hook",
        ),
    }


async def run(app: object, requests: int) -> float:
    """Requests per CPU second through `app`, one after another."""
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "path": "/login", "raw_path": b"/login", "root_path": "",
        "scheme": "http", "query_string": b"", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }  # fmt: skip
    cookies = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal cookies
        if message["type"] == "http.response.start":
            cookies += sum(1 for name, _ in message["headers"] if name == b"set-cookie")

    start = time.process_time()
    for _ in range(requests):
        await app(dict(scope), receive, send)  # type: ignore[operator]
    elapsed = time.process_time() - start
    assert cookies == 2 * requests, "both cookies must get through"
    return requests / elapsed


async def guard_alone(responses: int, with_cookies: bool = True) -> float:
    """CPU microseconds the hook spends on one response start (with the two cookies, or none)."""
    guard = CookieGuard(static_source(DECLARATIONS, number=1), on_violation=violation)
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
    if with_cookies:
        headers += [(b"set-cookie", c.to_encoded_header()[1]) for c in login.fn().cookies]
    scope = {"type": "http", "path": "/login", "headers": []}
    start = time.process_time()
    for _ in range(responses):
        await guard.before_send({"type": "http.response.start", "status": 200, "headers": headers}, scope)
    return (time.process_time() - start) / responses * 1e6


async def main(requests: int, rounds: int) -> None:
    apps = build()
    for app, _ in apps.values():
        await run(app, 500)  # warm up
    ratios: dict[str, list[float]] = {name: [] for name in apps}
    best = dict.fromkeys(apps, 0.0)
    shuffler = random.Random(7)
    for _ in range(rounds):
        measured = {}
        order = list(apps.items())
        shuffler.shuffle(order)  # no variant always runs first or last in a round
        for name, (app, _) in order:
            gc.collect()
            measured[name] = await run(app, requests)
            best[name] = max(best[name], measured[name])
        for name, (_, baseline) in apps.items():
            ratios[name].append(measured[name] / measured[baseline])
    median = {name: statistics.median(values) for name, values in ratios.items()}
    print(
        f"route setting ms_access + ms_csrf, {requests} requests x {rounds} rounds; ratio = median of the rounds' ratios to the baseline"
    )
    for name, (_, baseline) in apps.items():
        against = "" if name == baseline else f"vs {baseline!r}"
        print(f"  {name:<28} best {best[name]:>7.0f} req/s   ratio {median[name]:.3f} {against}")
    with_cookies, without = await guard_alone(20_000), await guard_alone(20_000, with_cookies=False)
    print(
        f"the guard alone, per response: {with_cookies:.2f} us of CPU with the two cookies, {without:.2f} us without cookies;"
        f" a bare request: {1e6 / best['bare']:.1f} us"
    )
    raw, gzipped = guardjs.sizes(guardjs.render(DECLARATIONS, mode="enforce", version=1))
    print(f"guard.js for these declarations: {raw} bytes raw, {gzipped} bytes gzipped")
    ours = median["... + guard hook (our app)"]
    print(
        f"goal (the guard costs our app <= 5% of throughput): {'met' if ours >= 0.95 else 'NOT met'} ({(1 - ours) * 100:.1f}%)"
    )


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(arguments + [2_000, 40][len(arguments) :])))

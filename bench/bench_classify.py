"""Benchmark: the cost of classifying one hit's user agent, against a dict lookup of the same agent
(the floor of any cached classification), on the public agent lists the tests use: real browsers
(fake-useragent) and known bots (crawler-user-agents). Cold: every agent new (cache cleared);
warm: agents seen before (the LRU). Goal: cold well under the recorder's per-hit budget (~100 us).

    .venv/bin/python bench/bench_classify.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def per_call(work, agents: list[str], rounds: int, before=None) -> float:
    """Median over rounds of seconds per agent."""
    times = []
    for _ in range(rounds):
        if before:
            before()
        started = time.perf_counter()
        for agent in agents:
            work(agent)
        times.append((time.perf_counter() - started) / len(agents))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    started = time.perf_counter()
    from crawleruseragents import CRAWLER_USER_AGENTS_DATA

    from tracking.classify import classify_agent

    print(f"import and compile: {(time.perf_counter() - started) * 1e3:.0f} ms (once per process)")
    data = files("fake_useragent").joinpath("data/browsers.jsonl").read_text(encoding="utf-8")
    browsers = sorted({json.loads(line)["useragent"] for line in data.splitlines()})
    bots = sorted({agent for entry in CRAWLER_USER_AGENTS_DATA for agent in entry.get("instances", [])})
    print(f"{'agents':<28}{'count':>7}{'cold us':>10}{'warm us':>10}{'dict us':>10}")
    for name, agents in (("real browsers", browsers), ("known bots", bots)):
        cache = dict.fromkeys(agents, 0)
        cold = per_call(lambda a: classify_agent("click", a, None), agents, args.rounds, classify_agent.cache_clear)
        warm = per_call(lambda a: classify_agent("click", a, None), agents, args.rounds)
        floor = per_call(cache.__getitem__, agents, args.rounds)
        print(f"{name:<28}{len(agents):>7}{cold * 1e6:>10.1f}{warm * 1e6:>10.2f}{floor * 1e6:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

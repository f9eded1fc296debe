"""Cost of guard.js on a declared write, in headless Chromium: the same loop with and without the guard.

Two pages of one origin (served by Playwright routes, no server), each in a browser context of its
own (so one page's writes fire no storage event in the other): one loads guard.js (enforce mode,
the seed policy's declarations) first, the other does not. Each round times a tight loop of
`localStorage.setItem` of a declared key in both pages, alternating which goes first; the figure
is the median over rounds of per-call microseconds, and the median of each round's ratio guarded/bare. Also timed, for
reference: the same on a Storage held in a variable; a property write (`localStorage.key = v`, through the guard's Proxy); `getItem`; and a
`document.cookie` write of a declared cookie. A native write's time (a message to the browser
process) varies by several µs on a loaded machine, so the guard's own work is also timed alone:
an undeclared `setItem` and `document.cookie` in the guarded page, which the guard decides and
refuses without calling the native. Then the script's sizes: readable source,
minified (as served) and minified+gzipped (budget: 6 KB).

    .venv/bin/python bench/bench_guard_js.py [calls_per_round] [rounds]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from governance.enforcement import guardjs
from policy_docs.seed import load_seed

DECLARATIONS = load_seed().content.declarations
ORIGIN = "http://127.0.0.1:9"  # never contacted: every request is answered by a route
CHROMIUM = "/usr/bin/chromium"
WRITES = {
    "setItem (declared key)": "localStorage.setItem('ms_journey_visitor_id', v)",
    "setItem on a held reference": "s.setItem('ms_journey_visitor_id', v)",
    "property write (declared key)": "localStorage.ms_journey_session_id = v",
    "getItem": "localStorage.getItem('ms_journey_visitor_id')",
    "document.cookie (declared cookie)": "document.cookie = 'ms_csrf=' + v + '; path=/; samesite=lax; max-age=600'",
}
GUARD_ALONE = {
    "setItem (undeclared, refused)": "localStorage.setItem('undeclared_key', v)",
    "document.cookie (undeclared)": "document.cookie = 'undeclared=' + v + '; path=/; samesite=lax; max-age=600'",
}
LOOP = """([calls, body]) => {
    const write = new Function('v', 's', body), values = ['a', 'b', 'c', 'd'], s = localStorage;
    for (let i = 0; i < 200; i++) write(values[i & 3], s);  // warm up
    const start = performance.now();
    for (let i = 0; i < calls; i++) write(values[i & 3], s);
    return (performance.now() - start) * 1000 / calls;  // microseconds per call
}"""


def open_page(browser, path: str, html: str, script: str):
    context = browser.new_context()
    context.route(f"{ORIGIN}/guard.js", lambda route: route.fulfill(body=script, content_type="text/javascript"))
    context.route(f"{ORIGIN}/governance/violations", lambda route: route.fulfill(status=204))
    context.route(f"{ORIGIN}{path}", lambda route: route.fulfill(body=html, content_type="text/html"))
    page = context.new_page()
    page.goto(f"{ORIGIN}{path}")
    return page


def main(calls: int, rounds: int) -> None:
    script = guardjs.render(DECLARATIONS, mode="enforce", version=1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        bare = open_page(browser, "/bare", "<!doctype html><p>bare</p>", script)
        guarded = open_page(
            browser, "/guarded", '<!doctype html><script src="/guard.js"></script><p>guarded</p>', script
        )
        assert (
            guarded.evaluate("() => Object.getOwnPropertyDescriptor(window, 'localStorage').get.toString()").find(
                "native"
            )
            < 0
        )
        print(f"guard.js in Chromium, {calls} calls per round, {rounds} rounds (median per-call time)")
        for name, body in WRITES.items():
            bare_times, guarded_times, ratios = [], [], []
            for round_ in range(rounds):
                pair = {}
                order = [("bare", bare), ("guarded", guarded)]
                for label, page in order if round_ % 2 else reversed(order):
                    pair[label] = page.evaluate(LOOP, [calls, body])
                bare_times.append(pair["bare"])
                guarded_times.append(pair["guarded"])
                ratios.append(pair["guarded"] / pair["bare"])  # paired: both ran moments apart
            plain, with_guard = statistics.median(bare_times), statistics.median(guarded_times)
            print(f"  {name:34} bare {plain:6.2f} µs  guarded {with_guard:6.2f} µs  "
                  f"ratio {statistics.median(ratios):4.2f} (median of rounds)")  # fmt: skip
        for name, body in GUARD_ALONE.items():
            alone = statistics.median(guarded.evaluate(LOOP, [calls, body]) for _ in range(rounds))
            print(f"  {name:34} guard's work alone {alone:5.2f} µs")
        browser.close()
    sizes = guardjs.size_report(DECLARATIONS)
    print(f"guard.js for the seed policy: {sizes['source']} bytes source, {sizes['minified']} minified, "
          f"{sizes['gzipped']} minified+gzipped (budget 6144)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, int(sys.argv[2]) if len(sys.argv) > 2 else 15)

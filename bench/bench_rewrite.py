"""Benchmark: rewriting an email (links found, judged and replaced, pixel inserted; text parts: URLs)
against one parse-and-serialize of the same bytes by lexbor (selectolax), the fast-HTML-parser baseline,
on every email of tests/fixtures/emails/ and on crafted worst cases. Goal: median ratio <= 1.0, worst <= 1.5.
Text parts are measured against lexbor on the same bytes too, where lexbor has next to nothing to do.
Each figure is the best of `--rounds` interleaved runs (this machine is shared: medians wander).

The rewriter is tracking/_rewrite.c (compiled by `make setup`); `--python` measures the Python it
is tested against instead (tracking/rewrite.py, the specification; the fallback without a compiler).

`ratio` is the rewriter's own work: `track_link` returns a ready tracking URL of the real length.
`signed` adds what the service's `track_link` does besides: one AES-SIV token per link (a fixed
cost per link, about 4 us, whatever the document), so it is shown but not part of the goal.

Linearity shows in the worst cases: each is as large as the service accepts (5 MB) or far longer in
one place than any real email (a 1 MB attribute, a 200,000-character href, runs of `&` and `&#`,
unclosed comments and tags); a quadratic step would be thousands of times slower than lexbor there.

    .venv/bin/python bench/bench_rewrite.py [--rounds 7] [--min-ms 20] [--only SUBSTRING] [--python]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "emails"
BASE = "https://t.mailsetu.example"
MB = 1_000_000


def corpus_cases() -> dict[str, tuple[str, str]]:
    return {path.name: ("html", path.read_text(encoding="utf-8")) for path in sorted(CORPUS.glob("*.html"))} | {
        path.name: ("txt", path.read_text(encoding="utf-8")) for path in sorted(CORPUS.glob("*.txt"))
    }


def wrap(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>x</title></head><body>{body}</body></html>"


def large_email(size: int) -> str:
    """The corpus' richest templates, their bodies repeated to `size`: one big, realistic document."""
    bodies = []
    for name in ("postmark-basic-full-example.html", "outlook-hybrid-ghost-tables.html"):
        template = (CORPUS / name).read_text(encoding="utf-8")
        start = template.index(">", template.index("<body")) + 1
        bodies.append(template[start : template.rindex("</body>")])
    body = "".join(bodies)
    return wrap(body * (size // len(body) + 1))


def worst_cases() -> dict[str, tuple[str, str]]:
    bare = '<a href="https://shop.example/p/{i}?utm_source=digest&amp;utm_medium=email">item {i}</a>\n'
    row = (
        '<tr><td class="item" style="padding:8px 16px;border-bottom:1px solid #eeeeee;font-family:Arial,sans-serif;'
        'font-size:14px;line-height:20px;color:#333333;"><img src="https://cdn.shop.example/p/{i}.jpg" width="48" '
        'height="48" alt="" style="display:block;border:0;float:left;margin-right:12px;">Item {i}, as seen this week: '
        '<a href="https://shop.example/p/{i}?utm_source=digest&amp;utm_medium=email" style="color:#348eda;'
        'text-decoration:underline;">see item {i}</a></td></tr>\n'
    )
    return {
        "5 MB email": ("html", large_email(5 * MB)),
        "10,000 links in table rows (4.8 MB)": (
            "html",
            wrap(f"<table>{''.join(row.format(i=i) for i in range(10_000))}</table>"),
        ),
        "10,000 bare links (0.8 MB)": ("html", wrap("".join(bare.format(i=i) for i in range(10_000)))),
        "1 MB attribute": ("html", wrap(f'<div title="{"x" * MB}"></div><a href="https://x.example/">a</a>')),
        "200,000-char href": ("html", wrap(f'<a href="https://x.example/{"a" * 200_000}">a</a>')),
        "run of & (1 MB)": ("html", wrap(f'<a href="https://x.example/?{"&" * MB}">a</a>' + "&" * MB)),
        "run of &# (1 MB)": ("html", wrap(f'<a href="https://x.example/?{"&#" * (MB // 2)}">a</a>' + "&#" * (MB // 2))),
        "run of &amp; (1 MB)": ("html", wrap(f'<a href="https://x.example/?{"&amp;" * (MB // 5)}">a</a>')),
        "unclosed comment (1 MB)": ("html", wrap("<!--" + "<a href='https://x.example/'>" * (MB // 30))),
        "unclosed conditional (1 MB)": (
            "html",
            wrap("<!--[if mso]>" + '<table role="presentation"><tr><td width="600">' * (MB // 48)),
        ),
        "unclosed tags (1 MB)": ("html", wrap("<a " * (MB // 3))),
        "unclosed quote (1 MB)": ("html", wrap("<a href='" + "x" * MB)),
        "lone < (1 MB)": ("html", wrap("<" * MB)),
        "text: 10,000 URLs": (
            "txt",
            "".join(f"Item {i}: https://shop.example/p/{i}?utm=digest.\n" for i in range(10_000)),
        ),
        "text: 200,000-char URL": ("txt", "See https://x.example/" + "a" * 200_000 + ". Thanks"),
        "text: run of ( (1 MB)": ("txt", "https://x.example/" + "(" * MB),
        "text: run of . (1 MB)": ("txt", "https://x.example/a" + "." * MB + "b"),
    }


def timed(work: Callable[[], object], min_seconds: float) -> float:
    """Seconds per call, repeating until `min_seconds` have passed (small emails take microseconds)."""
    calls, started = 0, time.perf_counter()
    while True:
        work()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-ms", type=float, default=20.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--python", action="store_true", help="measure the Python rewriter, not the compiled one")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from selectolax.lexbor import LexborHTMLParser

    from tracking import rewrite as implementation
    from tracking.rewrite import LinkRules, rewrite_html, rewrite_text
    from tracking.tokens import TokenSigner

    if args.python:
        implementation._compiled = None
    print(
        f"rewriter: {'compiled (tracking/_rewrite.c)' if implementation._compiled else 'Python (tracking/rewrite.py)'}"
    )

    signer = TokenSigner((("k2", b"b" * 40), ("k1", b"a" * 40)))
    rules = LinkRules(excluded_hosts=("partner.example",), unsubscribe_urls=frozenset({"https://x.example/unsub"}))

    ready = f"{BASE}/t/c/{signer.sign_click(123456, 0, 'https://shop.example/p/1?utm_source=digest')}"

    def measure(name: str, kind: str, document: str) -> tuple[float, float]:
        work, signed = rewrite(kind, document, sign=False), rewrite(kind, document, sign=True)
        result = signed()[1]
        parse = lambda: LexborHTMLParser(document).html  # noqa: E731
        times: tuple[list[float], list[float], list[float]] = ([], [], [])
        for _ in range(args.rounds):  # interleaved, so that load from elsewhere hits all alike
            for runs, job in zip(times, (work, signed, parse), strict=True):
                runs.append(timed(job, args.min_ms / 1e3))
        ours, with_signing, theirs = (min(runs) for runs in times)  # the least disturbed by other load
        size = len(document.encode())
        shown = f"{size / MB:.2f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"
        links = len(result.tracked) + len(result.skipped)
        print(
            f"{name:<44}{shown:>10}{links:>7}{ours * 1e3:>12.3f}{theirs * 1e3:>11.3f}"
            f"{ours / theirs:>7.2f}{with_signing / theirs:>8.2f}"
        )
        return ours / theirs, with_signing / theirs

    def rewrite(kind: str, document: str, sign: bool) -> Callable[[], object]:
        def signed(destination: str) -> str:
            links.append(destination)
            return f"{BASE}/t/c/{signer.sign_click(123456, len(links) - 1, destination)}"

        track = signed if sign else lambda destination: ready
        links: list[str] = []
        if kind == "txt":
            return lambda: (links.clear(), rewrite_text(document, track_link=track, rules=rules))
        pixel = f"{BASE}/t/o/{signer.sign_open(123456)}.gif"
        return lambda: (links.clear(), rewrite_html(document, track_link=track, pixel_url=pixel, rules=rules))

    worst = worst_cases()
    groups = {
        "corpus": corpus_cases(),
        "worst cases, HTML": {name: case for name, case in worst.items() if case[0] == "html"},
        "worst cases, text": {name: case for name, case in worst.items() if case[0] == "txt"},
    }
    print(f"{'case':<44}{'size':>10}{'links':>7}{'rewrite ms':>12}{'lexbor ms':>11}{'ratio':>7}{'signed':>8}")
    found: dict[str, dict[str, tuple[float, float]]] = {}  # group -> case -> (ratio, with signing)
    for group, cases in groups.items():
        for name, (kind, document) in cases.items():
            if args.only in name:
                found.setdefault(group, {})[name] = measure(name, kind, document)
    every = {name: ratios for cases in found.values() for name, ratios in cases.items()}
    for label, cases in [*found.items(), ("all", every)]:
        for column, title in ((0, "rewrite"), (1, "rewrite + signing")):
            ratios = {name: pair[column] for name, pair in cases.items()}
            median, worst_ratio = statistics.median(ratios.values()), max(ratios.values())
            print(
                f"{label + ':':<20} {title:<18} median {median:5.2f} ({'met' if median <= 1 else 'NOT met'}), "
                f"worst {worst_ratio:5.2f} ({'met' if worst_ratio <= 1.5 else 'NOT met'}: {max(ratios, key=ratios.__getitem__)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

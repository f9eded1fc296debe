"""Benchmark: rewriting a large email (links signed, pixel inserted) against one parse-and-serialize
of the same document by lexbor (selectolax), the fast-HTML-parser baseline. Goal: no slower.

    .venv/bin/python bench/bench_rewrite.py [--copies 40] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "emails"


def large_email(copies: int) -> str:
    """The corpus' richest template with its body content repeated: one big, realistic document."""
    template = (CORPUS / "postmark-basic-full-example.html").read_text(encoding="utf-8")
    body_start = template.index(">", template.index("<body")) + 1
    body_end = template.rindex("</body>")
    return template[:body_start] + template[body_start:body_end] * copies + template[body_end:]


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def interleaved(first, second, rounds: int) -> tuple[list[float], list[float]]:
    """Alternate the two so that load from elsewhere on the machine hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        times[0].append(timed(first))
        times[1].append(timed(second))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from selectolax.lexbor import LexborHTMLParser

    from tracking.rewrite import rewrite_html
    from tracking.tokens import TokenSigner

    document = large_email(args.copies)
    signer = TokenSigner((("k2", b"b" * 40), ("k1", b"a" * 40)))
    base = "https://t.mailsetu.example"

    def rewrite() -> None:
        links = []

        def track(destination: str) -> str:
            links.append(destination)
            return f"{base}/t/c/{signer.sign_click(123456, len(links) - 1, destination)}"

        rewrite_html(document, track_link=track, pixel_url=f"{base}/t/o/{signer.sign_open(123456)}.gif")

    def parse_and_serialize() -> None:
        _ = LexborHTMLParser(document).html

    rewrite()  # warm up both
    parse_and_serialize()
    sample = []
    rewrite_html(document, track_link=lambda url: sample.append(url) or url, pixel_url=None)
    rewrites, parses = interleaved(rewrite, parse_and_serialize, args.rounds)
    rewrite_best, rewrite_median = min(rewrites), statistics.median(rewrites)
    parse_best, parse_median = min(parses), statistics.median(parses)

    print(
        f"document: {len(document.encode()) / 1e6:.2f} MB, {len(sample)} links rewritten per pass, {args.rounds} rounds"
    )
    print(f"{'':<28}{'best ms':>10}{'median ms':>12}")
    print(f"{'rewrite (sign + splice)':<28}{rewrite_best * 1e3:>10.1f}{rewrite_median * 1e3:>12.1f}")
    print(f"{'lexbor parse + serialize':<28}{parse_best * 1e3:>10.1f}{parse_median * 1e3:>12.1f}")
    ratio = rewrite_best / parse_best
    print(
        f"rewrite time / lexbor time: {ratio:.2f} best of {args.rounds}, {rewrite_median / parse_median:.2f} median "
        f"(goal <= 1.00: {'met' if ratio <= 1 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

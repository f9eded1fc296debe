"""Charts as server-rendered SVG: no script, no style attribute (the CSP forbids both), a <title> and
<desc> for screen readers, and every page that shows one also shows its numbers as a table."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import count

from markupsafe import Markup

INK, BAR, GRID = "#1f2933", "#0b5cad", "#c9d2dc"
_ids = count(1)


def _svg(title: str, desc: str, width: int, height: int, body: str) -> Markup:
    n = next(_ids)
    return Markup(  # noqa: S704  (every text in it went through html.escape; the rest are numbers)
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="chart-{n}-title chart-{n}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{n}-title">{escape(title)}</title><desc id="chart-{n}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def bars(title: str, items: Sequence[tuple[str, int]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value), largest first as given; labels left, values right."""
    if not items:
        return Markup("")
    width, row, label_w, value_w = 640, 28, 220, 70
    height = row * len(items) + 8
    top = max(value for _, value in items) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        length = round((width - label_w - value_w) * value / top)
        short = label if len(label) <= 30 else label[:29] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" font-size="13" fill="{INK}">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{max(length, 1)}" height="{row - 10}" fill="{BAR}"/>'
            f'<text x="{label_w + length + 6}" y="{y + 18}" font-size="13" fill="{INK}">{value:,}</text>'
        )
    desc = "; ".join(f"{label}: {value:,}{unit}" for label, value in items)
    return _svg(title, desc, width, height, "".join(body))


def columns(title: str, items: Sequence[tuple[str, int]]) -> Markup:
    """Vertical columns over time (a series of days), with the first, middle and last day labelled."""
    if not items:
        return Markup("")
    width, height, left, bottom, top_pad = 640, 220, 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(value for _, value in items) or 1
    step = plot_w / len(items)
    body = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" stroke="{GRID}"/>',
        f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" font-size="12" fill="{INK}">{top:,}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" font-size="12" fill="{INK}">0</text>',
    ]
    for i, (_, value) in enumerate(items):
        h = round(plot_h * value / top)
        x = left + i * step
        body.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{top_pad + plot_h - h}" width="{max(step * 0.8, 1):.1f}" '
            f'height="{h}" fill="{BAR}"/>'
        )
    for i in sorted({0, len(items) // 2, len(items) - 1}):
        x = left + i * step + step / 2
        body.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" fill="{INK}">'
            f"{escape(items[i][0])}</text>"
        )
    total = sum(value for _, value in items)
    desc = f"{len(items)} days from {items[0][0]} to {items[-1][0]}, {total:,} in all, at most {top:,} a day"
    return _svg(title, desc, width, height, "".join(body))

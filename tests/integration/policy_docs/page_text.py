"""The text a reader sees on a policy page, one line per heading, paragraph, list item or table row,
written the way the seed document writes them (`- item`, `| a | b |`)."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser as HTMLParser

BLOCKS = {"h1", "h2", "h3", "h4", "p", "li", "tr"}


def _text(node) -> str:
    return re.sub(r"\s+", " ", node.text(deep=True)).strip()


def page_lines(html: str) -> list[str]:
    main = HTMLParser(html).css_first("main")
    lines = []
    for node in main.traverse():
        if node.tag not in BLOCKS:
            continue
        if node.tag == "li":
            lines.append(f"- {_text(node)}")
        elif node.tag == "tr":
            lines.append("| " + " | ".join(_text(cell) for cell in node.iter() if cell.tag in {"th", "td"}) + " |")
        else:
            lines.append(_text(node))
    return lines


def seed_lines(text: str) -> list[str]:
    """The seed's lines that carry content (not blank, not a Markdown table rule)."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not re.fullmatch(r"\|(\s*-+\s*\|)+", line.strip())
    ]

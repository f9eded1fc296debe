"""The compiled scanner (tracking/_rewrite.c) against its specification, the Python in
tracking/rewrite.py: on the corpus, on the crafted worst cases and on generated input made of the
pieces that trip tokenizers up, both give the same body, the same tracked links in the same order
and the same skipped links with the same reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.bench_rewrite import worst_cases  # the benchmark's crafted inputs, not a copy of them
from tracking import rewrite
from tracking.rewrite import LinkRules, rewrite_html, rewrite_html_in_python, rewrite_text, rewrite_text_in_python

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "fixtures" / "emails"
RULES = LinkRules(
    excluded_hosts=("partner.example", "bücher.example"), unsubscribe_urls=frozenset({"https://x.example/unsub"})
)
PIXEL = "https://t.example/t/o/PIXEL.gif"


def track(destination: str) -> str:
    return f"https://t.example/t/c/{len(destination)}?a=1&b='2'"  # `&` and a quote: escaped in attributes


def same_html(document: str, rules: LinkRules = RULES) -> None:
    for pixel in (PIXEL, None):
        for track_link in (track, None):
            compiled = rewrite_html(document, track_link=track_link, pixel_url=pixel, rules=rules)
            assert compiled == rewrite_html_in_python(document, track_link=track_link, pixel_url=pixel, rules=rules)


def same_text(text: str, rules: LinkRules = RULES) -> None:
    assert rewrite_text(text, track_link=track, rules=rules) == rewrite_text_in_python(
        text, track_link=track, rules=rules
    )


def test_the_compiled_scanner_is_built_and_used():
    """`make setup` compiles it; without it rewriting falls back to Python, several times slower."""
    assert rewrite._compiled is not None, "tracking/_rewrite.c is not built: run `make setup` (needs a C compiler)"
    assert rewrite._compiled.__file__.startswith(str(ROOT / "tracking"))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.*")), ids=lambda path: path.name)
def test_the_corpus_rewrites_the_same(path: Path):
    if path.suffix == ".html":
        same_html(path.read_text(encoding="utf-8"))
        same_html(path.read_text(encoding="utf-8"), LinkRules())
    elif path.suffix == ".txt":
        same_text(path.read_text(encoding="utf-8"))


def test_the_crafted_worst_cases_rewrite_the_same():
    for kind, document in worst_cases().values():
        if kind == "html":
            same_html(document)
        else:
            same_text(document)


# Pieces of markup that decide where tokens and links start and end, and of URLs that decide
# whether a link is plain (decided in C) or handed to the Python judge.
# fmt: off
MARKUP = [
    "<a", "<A", "<area", "<v:roundrect", "<V:Rect", "<v:shapetype", "<abbr", "<td", "<title", "<script", "<style",
    "<textarea", "<plaintext", "<noscript", "<iframe", "<xmp", "</a>", "</script>", "</style >", "</title>",
    "</body>", "</BODY ", "</bodyx>", "<body>", "<!--", "-->", "--!>", "->", "<!-->", "<!--->", "<!--[if mso]>",
    "<!--[if !mso]><!-->", "<!--[IF (gte mso 9)|(IE)]>", "<![endif]-->", "<![endif]>", "<!DOCTYPE html>",
    "<?xml ?>", "<", "<<", ">", "/", "/>", " ", "\t", "\n", "\x0c", "=", '"', "'", " href=", ' href="', " href='",
    " HREF = ", " data-no-track", " data-unsubscribe", " data-x=", " title=", ' x="a>b"', "&amp;", "&", "&#",
    "&#x26;", "&copy", "&AMP;", "&lt;", "é", "😀", "。", "”",
]
URLS = [
    "https://x.example/p?a=1&amp;b=2", "http://x.example", "HTTPS://X.Example/P", "https://partner.example/x",
    "https://sub.partner.example./x", "https://notpartner.example/", "https://xn--bcher-kva.example/",
    "https://bücher.example/", "https://x.example/unsub", "https://x.example:8080/", "https://x.example:99999/",
    "https://x.example/%7B%7Bname%7D%7D", "https://x.example/{{name}}", "https://x.example/*|ID|*",
    "https://x.example/[UserID]", "https://x.example/ü?q=ß", "https://x.example/a\\b", "https:x.example",
    "https:/x.example", "//x.example/", "mailto:a@b.example", "#top", "https://", "https://a@b.example/",
    " https://x.example/ ", "https://x.example/\n?q",
    "https://x.example/" + "a" * 4100,
]
TEXT = [
    "https://", "http://", "HTTP://", "xhttps://", "://", ".", ",", ":", ";", "!", "?", "*", "**", "|*", "(", ")",
    "[", "]", "<", ">", '"', "'", "`", " ", "\n", "x.example", "/p", "_(b)", "ü", "😀", "&", "%7B", "{{x}}", "a",
]
# fmt: on
TEXT += [
    *rewrite._TEXT_STOP,
    "\x00",
    "\x7f",
    "\x85",
    "\xa0",
    "\u3000",
    "\u1680",
    "\u2000",
    "\u200a",
    "\u2028",
    "\u2029",
    "\u205f",
]


def piece(alphabet: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(alphabet), st.sampled_from(URLS), st.text(max_size=3))


# Whole tags too: the links are in their attributes, and a random run of pieces rarely builds one.
attribute = st.builds(
    "{}{}{}{}{}{}".format,
    st.sampled_from([" ", "\n", "  ", "/", ""]),
    st.sampled_from(["href", "HREF", "data-no-track", "Data-Unsubscribe", "title", "data-x", "=x", '"q']),
    st.sampled_from(["", "=", " = "]),
    quote := st.sampled_from(['"', "'", ""]),
    st.one_of(st.sampled_from(URLS), st.sampled_from(["", "a>b", "x y", "data-no-track"])),
    quote,
)
tag = st.builds(
    "<{}{}{}".format,
    st.sampled_from(["a", "A", "area", "v:roundrect", "V:RECT", "v:oval", "v:shapetype", "abbr", "td", "style"]),
    st.lists(attribute, max_size=4).map("".join),
    st.sampled_from([">", "/>", " >", ""]),
)
# And whole comments, Outlook's conditional ones among them, with links inside and every kind of end.
comment = st.builds(
    "{}{}{}".format,
    st.sampled_from(["<!--", "<!--[if mso]>", "<!--[if !mso]><!-->", "<!--[if (gte mso 9)|(IE)]>", "<!"]),
    st.lists(st.one_of(tag, st.sampled_from(MARKUP)), max_size=6).map("".join),
    st.sampled_from(["-->", "--!>", "<![endif]-->", "<![endif]--!>", "->", "--", ""]),
)


FUZZ = settings(max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(st.one_of(tag, comment, piece(MARKUP)), max_size=30).map("".join))
def test_generated_html_rewrites_the_same(document: str):
    same_html(document)


@FUZZ
@given(st.lists(piece(TEXT), max_size=30).map("".join))
def test_generated_text_rewrites_the_same(text: str):
    same_text(text)


def test_an_error_while_tracking_reaches_the_caller():
    def failing(destination: str) -> str:
        raise RuntimeError(destination)

    for rewrite_one in (rewrite_html, rewrite_html_in_python):
        with pytest.raises(RuntimeError, match=r"x\.example"):
            rewrite_one('<a href="https://x.example/">x</a>', track_link=failing, pixel_url=None)
    for rewrite_part in (rewrite_text, rewrite_text_in_python):
        with pytest.raises(RuntimeError, match=r"x\.example"):
            rewrite_part("see https://x.example/", track_link=failing)

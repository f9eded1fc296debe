"""Apply tracking to an email's bodies without touching anything else.

HTML is never parsed into a tree and serialized again (that would reformat Outlook's
conditional comments, VML, entities and whitespace). A small tokenizer that follows the
HTML tokenizer's rules for tags, quoted attributes, comments and raw-text elements
(<style>, <script>, ...) finds each `<a>`/`<area>` `href` value; only those values are
spliced, plus the pixel before `</body>`. Written by hand because HTML parsers (lexbor,
html5lib, lxml) do not report source offsets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from html.entities import html5 as HTML5_ENTITIES
from typing import NamedTuple
from urllib.parse import urlsplit

from tracking.tokens import MAX_DESTINATION_BYTES

_WS = r"\t\n\f\r "  # HTML whitespace, as a regex character class body
HTML_WHITESPACE = frozenset("\t\n\f\r ")
_NAME = rf"[^{_WS}/>][^{_WS}/>=]*+"
_VALUE = rf"""(?:"(?P<dq>[^"]*+)"|'(?P<sq>[^']*+)'|(?P<uq>[^{_WS}>"'][^{_WS}>]*+))"""
_ATTR = rf"[{_WS}/]*+(?P<name>{_NAME})(?:[{_WS}]*+=[{_WS}]*+{_VALUE}?)?"
# Where a start tag ends: quotes only matter right after `=`, so everything else is one fast
# character-class run. Equivalent to the tokenizer's attribute states for finding the closing `>`.
_TAG_REST = rf"""[^>=]*+(?:=[{_WS}]*+(?:"[^"]*+"|'[^']*+'|[^{_WS}>"'][^{_WS}>]*+)?[^>=]*+)*+>"""
_LINK = "[aA](?:[rR][eE][aA])?"
_BODY = "[bB][oO][dD][yY]"
_RAW_TEXT = (  # elements whose content is text, never tags (spelled out: (?i:) is slower)
    "[sS](?:[cC][rR][iI][pP][tT]|[tT][yY][lL][eE])|[tT](?:[iI][tT][lL][eE]|[eE][xX][tT][aA][rR][eE][aA])|[xX][mM][pP]"
    "|[iI][fF][rR][aA][mM][eE]|[nN][oO](?:[eE][mM][bB][eE][dD]|[fF][rR][aA][mM][eE][sS]|[sS][cC][rR][iI][pP][tT])"
    "|[pP][lL][aA][iI][nN][tT][eE][xX][tT]"
)
_BORING_FIRST_LETTER = "[b-hj-mo-ru-wyzB-HJ-MO-RU-WYZ]"  # no link or raw-text element starts with these

ATTRIBUTE = re.compile(_ATTR)
DATA_ATTRIBUTE = re.compile("[dD][aA][tT][aA]-")  # a tag that may carry data-no-track / data-unsubscribe
# Each match skips text and every token the scanner does not act on (comments, Outlook's
# conditional comments, other tags, ...) and ends at the next one it does, or at the end.
# One regex pass: the per-token work stays in C, which is what keeps up with lexbor.
TOKEN = re.compile(
    rf"""
    (?:[^<]++|<(?:
        !--(?:-?>|(?:[^-]++|-(?!-!?>))*+(?:--!?>|\Z))          # comment
      | /(?!{_BODY}[{_WS}/>])[^>]*+>?                          # end tag other than </body>
      | [!?][^>]*+>?                                           # doctype, bogus comment
      | (?:{_BORING_FIRST_LETTER}|(?!(?:{_LINK}|{_RAW_TEXT})[{_WS}/>])[A-Za-z])[^{_WS}/>]*+{_TAG_REST}  # other start tags
      | (?![A-Za-z!?/])                                        # a lone `<` is text
    ))*+
    (?:<(?:
        (?P<link>{_LINK})                                      # <a ...>, <area ...>, capturing a leading
        (?:[{_WS}]++[hH][rR][eE][fF][{_WS}]*+=[{_WS}]*+"(?P<href>[^"]*+)")?  # href="..." (the common case)
        (?=[{_WS}/>]){_TAG_REST}
      | (?P<raw>{_RAW_TEXT})(?=[{_WS}/>]){_TAG_REST}           # <style ...>, <script ...>, ...
      | /(?P<body_end>{_BODY})[^>]*+>?                         # </body>
      | (?P<unterminated>[A-Za-z])                             # a tag running to the end of input
    )|\Z)
    """,
    re.S | re.X,
)
TEXT_URL = re.compile(r"""https?://[^\s<>"'\x00-\x1f\x7f]+""", re.I)
PLACEHOLDER_MARKERS = ("{{", "}}", "{%", "%}", "*|", "|*", "${", "<%", "%%")
_NEEDS_ESCAPING = re.compile("[&<>\"']")
URL_NOISE = re.compile(r"[\t\n\r]")  # browsers drop these inside URLs
_REF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


def unescape_attribute(value: str) -> str:
    """Decode character references the way browsers do inside attribute values.

    Differs from `html.unescape` in one rule that keeps query strings intact: a named
    reference without `;` followed by `=` or an alphanumeric stays literal (`?a=1&copy=2`).
    """

    def decode(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("#") or ref.endswith(";"):
            return html.unescape(match.group(0)) if ref.startswith("#") else HTML5_ENTITIES.get(ref, match.group(0))
        for end in range(len(ref), 1, -1):  # longest legacy entity (no `;`) that prefixes the name
            if ref[:end] in HTML5_ENTITIES:
                rest = ref[end:] + value[match.end() : match.end() + 1]
                if rest[:1].isalnum() or rest[:1] == "=":
                    return match.group(0)
                return HTML5_ENTITIES[ref[:end]] + ref[end:]
        return match.group(0)

    return _REF.sub(decode, value) if "&" in value else value


def clean_url(url: str) -> str:
    return URL_NOISE.sub("", url).strip(
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
    )


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


@dataclass(frozen=True)
class LinkRules:
    """What must never be tracked, besides non-http(s) links and links marked data-no-track."""

    excluded_hosts: tuple[str, ...] = ()
    unsubscribe_urls: frozenset[str] = frozenset()

    def skip_reason(self, url: str) -> str | None:
        if any(marker in url for marker in PLACEHOLDER_MARKERS):
            return "template placeholder"
        if not is_http_url(url):
            return "not an http(s) link"
        if len(url.encode()) > MAX_DESTINATION_BYTES:
            return "destination too long"
        if url in self.unsubscribe_urls:
            return "unsubscribe link"
        host = (urlsplit(url).hostname or "").rstrip(".")
        if any(host == h or host.endswith("." + h) for h in self.excluded_hosts):
            return "excluded destination"
        return None


def unsubscribe_targets(list_unsubscribe: str | None) -> frozenset[str]:
    """The http(s) targets of a List-Unsubscribe header value: `<https://...>, <mailto:...>`."""
    return frozenset(clean_url(t) for t in re.findall(r"<([^>]*)>", list_unsubscribe or ""))


class Anchor(NamedTuple):
    """An `href` of an `<a>`/`<area>` tag, with the source offsets of its raw value."""

    raw: str
    start: int
    end: int
    no_track: tuple[int, int] | None  # span of the data-no-track attribute, to remove
    marked_unsubscribe: bool


@dataclass(frozen=True)
class ScannedHtml:
    anchors: list[Anchor]
    body_end: int | None  # offset of the last `</body>` outside comments


def scan_html(document: str) -> ScannedHtml:
    anchors: list[Anchor] = []
    body_end = None
    pos: int | None = 0
    while pos is not None:
        resume_at = None
        for match in TOKEN.finditer(document, pos):
            kind = match.lastgroup
            if kind == "href" and not DATA_ATTRIBUTE.search(document, match.end("href"), match.end()):
                anchors.append(Anchor(match.group("href"), match.start("href"), match.end("href"), None, False))
            elif kind == "link" or kind == "href":
                anchor = _anchor(document, match.end("link"), match.end())
                if anchor is not None:
                    anchors.append(anchor)
            elif kind == "body_end":
                body_end = match.start("body_end") - 2
            elif kind == "raw":
                name = match.group("raw").lower()
                closing = None if name == "plaintext" else _closing_tag(name).search(document, match.end())
                if closing is not None:
                    resume_at = closing.start()  # skip the element's text, then tokenize again
                break  # without a closing tag, the rest of the document is text
            else:
                break  # the end, or an unterminated tag: the rest of the document is inside it
        pos = resume_at
    return ScannedHtml(anchors, body_end)


@cache
def _closing_tag(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}(?=[{_WS}/>])", re.I)


def _anchor(document: str, start: int, end: int) -> Anchor | None:
    """The href of the tag whose attributes run from `start` to `end`."""
    href: tuple[str, int, int] | None = None
    no_track = None
    unsubscribe = False
    for attr in ATTRIBUTE.finditer(document, start, end):
        name = attr.group("name").lower()
        if name == "href" and href is None:  # browsers keep the first of duplicate attributes
            group = attr.lastgroup if attr.lastgroup != "name" else None
            if group is None:
                href = ("", attr.end(), attr.end())
            else:
                href = (attr.group(group), attr.start(group), attr.end(group))
        elif name == "data-no-track" and no_track is None:
            cut = attr.start("name")
            while document[cut - 1] in HTML_WHITESPACE:
                cut -= 1
            no_track = (cut, attr.end())
        elif name == "data-unsubscribe":
            unsubscribe = True
    if href is None:
        return None
    return Anchor(raw=href[0], start=href[1], end=href[2], no_track=no_track, marked_unsubscribe=unsubscribe)


@dataclass(frozen=True)
class SkippedLink:
    url: str
    reason: str


@dataclass
class Rewritten:
    body: str
    tracked: list[str] = field(default_factory=list)  # destinations, in the order their links were rewritten
    skipped: list[SkippedLink] = field(default_factory=list)
    pixel_inserted: bool = False


def pixel_tag(pixel_url: str) -> str:
    src = html.escape(pixel_url, quote=True)
    return f'<img src="{src}" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0" />'


def rewrite_html(
    document: str,
    *,
    track_link: Callable[[str], str] | None,
    pixel_url: str | None,
    rules: LinkRules = LinkRules(),
) -> Rewritten:
    """`track_link(destination)` returns the tracking URL (None: clicks off); `pixel_url` None: opens off."""
    result = Rewritten(body=document)
    if track_link is None and pixel_url is None:
        return result
    scanned = scan_html(document)
    edits: list[tuple[int, int, str]] = []
    if track_link is not None:
        judged: dict[
            str, tuple[str, str | None, bool]
        ] = {}  # raw href -> (destination, why skipped, is http); links repeat
        for anchor in scanned.anchors:
            if anchor.raw not in judged:
                url = clean_url(unescape_attribute(anchor.raw))
                judged[anchor.raw] = (url, rules.skip_reason(url), is_http_url(url))
            url, reason, is_http = judged[anchor.raw]
            if anchor.no_track or anchor.marked_unsubscribe:
                reason = "marked data-no-track" if anchor.no_track else "marked data-unsubscribe"
            if anchor.no_track:
                edits.append((anchor.no_track[0], anchor.no_track[1], ""))
            if reason:
                if is_http or anchor.no_track:  # the rest were never links to track: not worth listing
                    result.skipped.append(SkippedLink(url, reason))
                continue
            tracking_url = track_link(url)
            if _NEEDS_ESCAPING.search(tracking_url):
                tracking_url = html.escape(tracking_url, quote=True)
            edits.append((anchor.start, anchor.end, tracking_url))
            result.tracked.append(url)
    if pixel_url is not None:
        at = scanned.body_end if scanned.body_end is not None else len(document)
        edits.append((at, at, pixel_tag(pixel_url)))
        result.pixel_inserted = True
    result.body = _splice(document, edits)
    return result


def rewrite_text(text: str, *, track_link: Callable[[str], str], rules: LinkRules = LinkRules()) -> Rewritten:
    """Bare http(s) URLs in a text/plain part."""
    result = Rewritten(body=text)
    edits = []
    for match in TEXT_URL.finditer(text):
        url = _trim_trailing_punctuation(match.group(0))
        reason = rules.skip_reason(url)
        if reason:
            result.skipped.append(SkippedLink(url, reason))
            continue
        edits.append((match.start(), match.start() + len(url), track_link(url)))
        result.tracked.append(url)
    result.body = _splice(text, edits)
    return result


def _trim_trailing_punctuation(url: str) -> str:
    """`(see https://x.test/a).` ends at `a`; a `)` that closes a `(` inside the URL stays."""
    while url and url[-1] in ".,;:!?'\")]}":
        if url[-1] in ")]}" and url.count({")": "(", "]": "[", "}": "{"}[url[-1]]) >= url.count(url[-1]):
            break
        url = url[:-1]
    return url


def _splice(source: str, edits: Iterable[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        out += (source[pos:start], replacement)
        pos = end
    out.append(source[pos:])
    return "".join(out)

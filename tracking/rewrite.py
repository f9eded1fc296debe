"""Apply tracking to an email's bodies without touching anything else.

HTML is never parsed into a tree and serialized again (that would reformat Outlook's
conditional comments, VML, entities and whitespace). A small tokenizer that follows the
HTML tokenizer's rules for tags, quoted attributes, comments and raw-text elements
(<style>, <script>, ...) finds each link's `href` value: `<a>`, `<area>` and Outlook's VML
shapes (`<v:roundrect>`, `<v:rect>`, ... of bulletproof buttons), in the document and in the
HTML that Outlook reads inside conditional comments (`<!--[if mso]> ... <![endif]-->`). Only
those values are spliced, plus the pixel before `</body>`. Written by hand because HTML parsers
(lexbor, html5lib, lxml) do not report source offsets and do not look inside comments.

Every step is linear in the input: possessive regexes whose alternatives never rescan what an
earlier one consumed, entity names bounded by the longest entity, one pass to trim text URLs.
`rewrite_html` and `rewrite_text` are pure and synchronous; their inputs and results pickle (give
them a picklable `track_link` to run them in a process pool).

The regexes and functions here are the specification. tracking/_rewrite.c runs the same tokenizer
compiled, decides plain links itself (ASCII or not, `&amp;` at most, no port, host not excluded)
and asks `_link_judge` about every other link, so each rule is written once, here; the tests run
every behaviour on both and compare them on generated input (tests/unit/tracking/).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.entities import html5 as HTML5_ENTITIES
from types import ModuleType
from urllib.parse import unquote, urlsplit

from tracking.tokens import MAX_DESTINATION_BYTES

_compiled: ModuleType | None
try:
    from tracking import _rewrite as _compiled  # tracking/_rewrite.c, built when the package is installed
except ImportError:  # not built (no C compiler): the Python below does the same, several times slower
    _compiled = None

# Why a link is left as it is (`links_skipped`). NOT_HTTP links (mailto:, #top, ...) are not listed.
PLACEHOLDER = "placeholder"
NOT_HTTP = "not an http(s) link"
AMBIGUOUS = "ambiguous http(s) link"  # browsers follow it, but parsers disagree on where to
TOO_LONG = "destination too long"
UNSUBSCRIBE = "unsubscribe link"
EXCLUDED = "excluded destination"
MARKED_NO_TRACK = "marked data-no-track"
MARKED_UNSUBSCRIBE = "marked data-unsubscribe"

_WS = r"\t\n\f\r "  # HTML whitespace, as a regex character class body
HTML_WHITESPACE = frozenset("\t\n\f\r ")
_NAME = rf"[^{_WS}/>][^{_WS}/>=]*+"
_VALUE = rf"""(?:"(?P<dq>[^"]*+)"|'(?P<sq>[^']*+)'|(?P<uq>[^{_WS}>"'][^{_WS}>]*+))"""
_ATTR = rf"[{_WS}/]*+(?P<name>{_NAME})(?:[{_WS}]*+=[{_WS}]*+{_VALUE}?)?"
# Where a start tag ends: quotes only matter right after `=`, so everything else is one fast
# character-class run. Equivalent to the tokenizer's attribute states for finding the closing `>`.
# An unclosed quote runs to the end, as in browsers: the tag then never ends.
_TAG_REST = rf"""[^>=]*+(?:=[{_WS}]*+(?:"[^"]*+(?:"|\Z)|'[^']*+(?:'|\Z)|[^{_WS}>"'][^{_WS}>]*+)?[^>=]*+)*+>"""
_VML_SHAPE = (  # the VML elements that take an href: shapes (not <v:fill>, <v:textbox>, ...)
    "[rR][eE][cC][tT]|[rR][oO][uU][nN][dD][rR][eE][cC][tT]|[oO][vV][aA][lL]|[sS][hH][aA][pP][eE]|[lL][iI][nN][eE]"
    "|[pP][oO][lL][yY][lL][iI][nN][eE]|[cC][uU][rR][vV][eE]|[aA][rR][cC]|[iI][mM][aA][gG][eE]|[gG][rR][oO][uU][pP]"
)
_LINK = f"[aA](?:[rR][eE][aA])?|[vV]:(?:{_VML_SHAPE})"  # <a>, <area>, <v:roundrect>, <v:rect>, ...
_BODY = "[bB][oO][dD][yY]"
_RAW_TEXT = (  # elements whose content is text, never tags (spelled out: (?i:) is slower)
    "[sS](?:[cC][rR][iI][pP][tT]|[tT][yY][lL][eE])|[tT](?:[iI][tT][lL][eE]|[eE][xX][tT][aA][rR][eE][aA])|[xX][mM][pP]"
    "|[iI][fF][rR][aA][mM][eE]|[nN][oO](?:[eE][mM][bB][eE][dD]|[fF][rR][aA][mM][eE][sS]|[sS][cC][rR][iI][pP][tT])"
    "|[pP][lL][aA][iI][nN][tT][eE][xX][tT]"
)
_RAW_TEXT_NAMES = ("script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript")


def _any_case(name: str) -> str:
    return "".join(f"[{char.lower()}{char.upper()}]" for char in name)


# A whole raw-text element, its text up to the closing tag (or, without one, to the end): no links in it.
_RAW_ELEMENT = (
    "|".join(
        rf"{_any_case(name)}(?=[{_WS}/>]){{tag_rest}}(?:[^<]++|<(?!/{_any_case(name)}[{_WS}/>]))*+"
        for name in _RAW_TEXT_NAMES
    )
    + rf"|{_any_case('plaintext')}(?=[{_WS}/>]){{tag_rest}}.*+"
)
_BORING_FIRST_LETTER = "[b-hj-moqruwyzB-HJ-MOQRUWYZ]"  # no link or raw-text element starts with these
_COMMON_FIRST_LETTER = (  # <table>, <td>, <span>, <img>, <p>: quickly told from <title>, <style>, <iframe>, ...
    rf"[tT](?![iI][tT][lL][eE][{_WS}/>]|[eE][xX][tT][aA][rR][eE][aA][{_WS}/>])"
    rf"|[sS](?![cC][rR][iI][pP][tT][{_WS}/>]|[tT][yY][lL][eE][{_WS}/>])"
    rf"|[iI](?![fF][rR][aA][mM][eE][{_WS}/>])|[pP](?![lL][aA][iI][nN][tT][eE][xX][tT][{_WS}/>])"
)
# `[if mso]>`, `[if !mso]>`, `[if (gte mso 9)|(IE)]>` after `<!--`: Outlook (and old IE) read what follows as HTML.
# The scan for `]>` stops at the comment's `-->` at the latest.
_IF = rf"\[[iI][fF](?=[{_WS}!(])[^\]>]*+\]>"
_ENDIF = r"\[[eE][nN][dD][iI][fF]\]--!?>"  # after `<!`: how Outlook's HTML in a conditional comment ends

_LINK_ATTRIBUTE_NAME = (
    "(?:[hH][rR][eE][fF]|[dD][aA][tT][aA]-(?:[nN][oO]-[tT][rR][aA][cC][kK]|[uU][nN][sS][uU][bB][sS][cC][rR][iI][bB][eE]))"
    rf"(?=[{_WS}/>=]|\Z)"
)
_OTHER_ATTR = rf"""[{_WS}/]*+(?!{_LINK_ATTRIBUTE_NAME}){_NAME}(?:[{_WS}]*+=[{_WS}]*+(?:"[^"]*+"|'[^']*+'|[^{_WS}>"'][^{_WS}>]*+)?)?"""
LINK_ATTRIBUTE = re.compile(rf"(?:{_OTHER_ATTR})*+{_ATTR}")  # skips the attributes of no interest (in C), then one
DATA_ATTRIBUTE = re.compile("[dD][aA][tT][aA]-")  # a tag that may carry data-no-track / data-unsubscribe
COMMENT_END = re.compile("--!?>")
# Each match skips text and every token the scanner does not act on (comments, other tags, ...)
# and ends at the next one it does, or at the end. One regex pass: the per-token work stays in
# C, which is what keeps up with lexbor.
TOKEN = re.compile(
    rf"""
    (?:[^<]++|<+(?![A-Za-z!?/])|<(?:                           # text; `<` not starting a tag is text
        !--(?!{_IF})(?:-?>|(?:[^-]++|-(?!-!?>))*+(?:--!?>|\Z))  # comment, other than a conditional one
      | /(?!{_BODY}[{_WS}/>])[^>]*+>?                          # end tag other than </body>
      | (?:!(?!--|{_ENDIF})|\?)[^>]*+>?                        # doctype, bogus comment, <![endif]>
      | (?:{_BORING_FIRST_LETTER}|{_COMMON_FIRST_LETTER}|(?!(?:{_LINK}|{_RAW_TEXT})[{_WS}/>])[A-Za-z])[^{_WS}/>]*+{_TAG_REST}  # other start tags
      | (?:{_RAW_ELEMENT.format(tag_rest=_TAG_REST)})          # <style>...</style>, <script>...</script>, ...
    ))*+
    (?:<(?:
        (?P<conditional>!--{_IF})                              # <!--[if mso]>
      | (?P<endif>!{_ENDIF})                                   # <![endif]-->
      | (?P<link>{_LINK})                                      # <a ...>, <area ...>, <v:roundrect ...>, capturing
        (?:[{_WS}]++[hH][rR][eE][fF][{_WS}]*+=[{_WS}]*+"(?P<href>[^"]*+)")?  # a leading href="..." (the common case)
        (?=[{_WS}/>]){_TAG_REST}
      | /(?P<body_end>{_BODY})[^>]*+>?                         # </body>
      | (?P<unterminated>[A-Za-z])                             # a tag running to the end of input
    )|\Z)
    """,
    re.S | re.X,
)

# Text parts. A URL ends at whitespace, at `<>"'` and backticks, at quotes, ellipses and CJK
# punctuation, and at a `)` or `]` that closes nothing inside it (Markdown's `[text](url)`);
# brackets nested up to two deep stay in it (Wikipedia's `Foo_(bar)`).
_TEXT_STOP = "\"'`<>()\\[\\]“”„‘’‚«»‹›…。、，．：；！？「」『』（）【】〈〉《》〔〕｢｣､"
_SPACES = "\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # what \s is, and controls; as ranges: faster
_URL_CHAR = rf"[^{_SPACES}{_TEXT_STOP}]"
_NESTED = rf"\({_URL_CHAR}*+\)|\[{_URL_CHAR}*+\]"
_BRACKETS = rf"\((?:{_URL_CHAR}++|{_NESTED})*+\)|\[(?:{_URL_CHAR}++|{_NESTED})*+\]"
TEXT_URL = re.compile(rf"[hH][tT][tT][pP][sS]?://(?:{_URL_CHAR}++|{_BRACKETS}|[(\[])++")
TRAILING_PUNCTUATION = ".,:;!?*"  # ends a sentence or Markdown emphasis (`**url**`), not the URL

# Leftover merge tags: Handlebars/Liquid/Jinja `{{ }}` `{% %}`, Mailchimp `*|X|*`, `${x}`, `{$x}`,
# AWeber `{!x}`, ERB `<% %>`, Salesforce/Pardot `%%x%%`, Mailjet/GetResponse `[[x]]`, Zoho `$[x]$`,
# Mautic/Mailgun/ActiveCampaign `{email}` `%recipient.x%` `%EMAIL%`, Campaign Monitor/phpList
# `[UserID]` (but not `filter[status]=` query arrays, nor `%E2%80%99` escapes); checked again
# percent-decoded (twice, for double encoding).
PLACEHOLDER_TAG = re.compile(
    r"\{\{|\}\}|\{%|%\}|\*\||\|\*|\$\{|\{\$|\{!|<%|%>|%%|\[\[|\]\]|\$\["
    r"|\{[A-Za-z_][\w.:=|-]*+\}"
    r"|\[[A-Za-z_][\w .,=|-]*+\](?![=\[])"
    r"|%(?![0-9A-Fa-f]{2})[A-Za-z_][\w.]*+%"
)
IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the label separators of IDNA
# A URL that needs no closer look: ASCII host, no userinfo, nothing a merge tag or a backslash is made of.
PLAIN_URL = re.compile(  # no (?i): it slows every character test down
    r"[hH][tT][tT][pP][sS]?://(?P<host>[A-Za-z0-9.-]++)(?::(?P<port>[0-9]{1,5}))?(?:[/?#][^\x00-\x20\x7f\\%{}\[\]|*]*+)?"
)
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*+:")
BACKSLASH_BEFORE_QUERY = re.compile(r"[^?#\\]*+\\")
_NEEDS_ESCAPING = re.compile("[&<>\"']")
URL_NOISE = re.compile(r"[\t\n\r]")  # browsers drop these inside URLs
_LONGEST_ENTITY = max(len(name) for name in HTML5_ENTITIES)  # 32, with its `;`
_REF = re.compile(
    rf"&(?:#(?P<dec>[0-9]++);?|#[xX](?P<hex>[0-9a-fA-F]++);?|(?P<name>[A-Za-z][A-Za-z0-9]{{0,{_LONGEST_ENTITY - 2}}})(?P<semi>;?))"
)


def unescape_attribute(value: str) -> str:
    """Decode character references the way browsers do inside attribute values.

    Differs from `html.unescape` in one rule that keeps query strings intact: a named
    reference without `;` followed by `=` or an alphanumeric stays literal (`?a=1&copy=2`).
    Linear: names are bounded by the longest entity, numbers are not converted past 8 digits.
    """

    def decode(match: re.Match[str]) -> str:
        if (digits := match.group("dec") or match.group("hex")) is not None:
            significant = digits.lstrip("0") or "0"
            if len(significant) > 8:  # far past U+10FFFF, and int() of a long run is slow or refused
                return "\ufffd"
            return html.unescape(("&#" if match.group("dec") else "&#x") + significant + ";")
        name = match.group("name")
        if match.group("semi"):
            return HTML5_ENTITIES.get(name + ";", match.group(0))
        for end in range(len(name), 1, -1):  # longest legacy entity (no `;`) that prefixes the name
            if name[:end] in HTML5_ENTITIES:
                rest = name[end:] + value[match.end() : match.end() + 1]
                if rest[:1].isalnum() or rest[:1] == "=":
                    return match.group(0)
                return HTML5_ENTITIES[name[:end]] + name[end:]
        return match.group(0)

    if "&" not in value:
        return value
    if value.count("&") == value.count("&amp;"):  # query strings' usual only reference: one pass in C
        return value.replace("&amp;", "&")
    return _REF.sub(decode, value)


def clean_url(url: str) -> str:
    """What browsers do first: drop tabs and newlines, strip C0 controls and spaces at both ends."""
    if "\t" not in url and "\n" not in url and "\r" not in url and url[:1] > " " and url[-1:] > " ":
        return url  # nothing to drop: the usual case, told by three memchr() and two comparisons
    return URL_NOISE.sub("", url).strip(
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
    )


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def has_placeholder(url: str) -> bool:
    for _ in range(3):  # as written, then percent-decoded once and twice
        if PLACEHOLDER_TAG.search(url):
            return True
        if "%" not in url:
            return False
        url = unquote(url)
    return False


def canonical_host(host: str) -> str | None:
    """The host as browsers resolve it (lowercase, IDNA), or None where we cannot be sure."""
    host = host.rstrip(".")
    if host.isascii():
        return None if "%" in host else host.lower()  # browsers percent-decode hosts; we do not guess
    if len(host) > 253 or max(map(len, IDNA_DOTS.split(host))) > 63:
        return None  # never a valid name, and Punycode is quadratic in a label's length
    try:
        return host.encode("idna").decode("ascii").lower()  # also maps fullwidth letters and `。` dots
    except UnicodeError:
        return None


def http_problem(url: str) -> tuple[str | None, str]:
    """(None, its host) for a trackable `http(s)://host/...` URL; else (NOT_HTTP or AMBIGUOUS, "").

    AMBIGUOUS: a link browsers follow (they repair `https:x`, `https:/x`, `https:\\\\x`, `//x`,
    backslashes, percent-encoded or odd hosts) that Python's URL parser reads differently, so
    that the host checks (excluded destinations) could be fooled.
    """
    scheme = SCHEME.match(url)
    if scheme is None:
        return (AMBIGUOUS if url[:2] in ("//", "\\\\", "/\\", "\\/") else NOT_HTTP), ""
    if scheme.group().lower() not in ("http:", "https:"):
        return NOT_HTTP, ""
    rest = url[scheme.end() :]
    if rest[:2] != "//" or rest[2:3] in ("/", "\\") or BACKSLASH_BEFORE_QUERY.match(url):
        return AMBIGUOUS, ""  # browsers read a backslash as `/`, Python as part of the host or path
    try:
        parts = urlsplit(url)
        _ = parts.port  # refuses a port out of range
    except ValueError:
        return AMBIGUOUS, ""
    host = canonical_host(parts.hostname or "")
    return (None, host) if host else (AMBIGUOUS, "")


@dataclass(frozen=True)
class LinkRules:
    """What must never be tracked, besides non-http(s) links and links marked data-no-track."""

    excluded_hosts: tuple[str, ...] = ()
    unsubscribe_urls: frozenset[str] = frozenset()
    _hosts: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _subdomains: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts = {host for host in map(canonical_host, self.excluded_hosts) if host}
        object.__setattr__(self, "_hosts", frozenset(hosts))
        object.__setattr__(self, "_subdomains", tuple("." + host for host in hosts))

    def skip_reason(self, url: str) -> str | None:
        if len(url) > MAX_DESTINATION_BYTES and url[:5].lower() in ("http:", "https"):
            return TOO_LONG  # first: what follows reads the whole URL, and it could be megabytes
        if plain := PLAIN_URL.fullmatch(url):  # most links; none of a merge tag's characters in it
            host, port = plain.group("host", "port")
            if port and int(port) > 65535:
                return AMBIGUOUS
            host = host.rstrip(".").lower()
        elif has_placeholder(url):
            return PLACEHOLDER
        else:
            problem, host = http_problem(url)
            if problem:
                return problem
        if not url.isascii() and len(url.encode()) > MAX_DESTINATION_BYTES:
            return TOO_LONG
        if url in self.unsubscribe_urls:
            return UNSUBSCRIBE
        if host in self._hosts or host.endswith(self._subdomains):
            return EXCLUDED
        return None


def unsubscribe_targets(list_unsubscribe: str | None) -> frozenset[str]:
    """The http(s) targets of a List-Unsubscribe header value: `<https://...>, <mailto:...>`."""
    return frozenset(clean_url(t) for t in re.findall(r"<([^>]*)>", list_unsubscribe or ""))


# A link tag's `href`: (raw value, its start and end offsets, the span of a data-no-track attribute to
# remove or None, marked data-unsubscribe). A plain tuple: emails can hold 10,000s of links.
Anchor = tuple[str, int, int, tuple[int, int] | None, bool]


@dataclass
class ScannedHtml:
    anchors: list[Anchor] = field(default_factory=list)
    body_end: int | None = None  # offset of the last `</body>` outside comments


def scan_html(document: str) -> ScannedHtml:
    scanned = ScannedHtml()
    pos: int | None = 0
    while pos is not None:
        pos = _scan(document, pos, scanned)
    return scanned


def _scan(document: str, pos: int, scanned: ScannedHtml) -> int | None:
    """Tokenize from `pos`; returns where to start again (after a conditional comment whose HTML ran
    past its `-->`, which ends it for browsers), or None at the end."""
    anchors = scanned.anchors
    outlook: tuple[int, int] | None = None  # inside a conditional comment: where its `-->` starts and ends
    for match in TOKEN.finditer(document, pos):
        kind = match.lastgroup
        if outlook is not None and match.end() > outlook[0]:
            if kind == "endif" and match.end() == outlook[1]:
                outlook = None  # the usual end: `<![endif]-->`
                continue
            return outlook[1]  # a tag, comment or raw text ran past the `-->`: cut there, as browsers do
        if kind == "href":  # href="..." first: the tag needs no closer look unless it has data- attributes
            start, end = match.span("href")
            if not DATA_ATTRIBUTE.search(document, end, match.end()):
                anchors.append((document[start:end], start, end, None, False))
                continue
        if kind == "link" or kind == "href":
            anchor = _anchor(document, match.end("link"), match.end())
            if anchor is not None:
                anchors.append(anchor)
        elif kind == "body_end":
            if outlook is None:
                scanned.body_end = match.start("body_end") - 2
        elif kind == "conditional":
            if outlook is None:  # (a nested opener: the same Outlook-only HTML goes on to the same `-->`)
                close = COMMENT_END.search(document, match.end())
                outlook = close.span() if close else (len(document), len(document))
        elif kind != "endif":
            return outlook[1] if outlook is not None and kind == "unterminated" else None  # the end
    return None


def _anchor(document: str, start: int, end: int) -> Anchor | None:
    """The href of the tag whose attributes run from `start` to `end`."""
    href: tuple[str, int, int] | None = None
    no_track = None
    unsubscribe = False
    pos = start
    while (attr := LINK_ATTRIBUTE.match(document, pos, end)) is not None:
        pos = attr.end()
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
    return (*href, no_track, unsubscribe)


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
    if track_link is None and pixel_url is None:
        return Rewritten(body=document)
    if _compiled is None:
        return rewrite_html_in_python(document, track_link=track_link, pixel_url=pixel_url, rules=rules)
    body, tracked, skipped = _compiled.rewrite_html(
        document,
        track_link,
        None if pixel_url is None else pixel_tag(pixel_url),
        _link_judge(rules),
        *_compiled_rules(rules),
    )
    return Rewritten(body, tracked, [SkippedLink(*skip) for skip in skipped], pixel_inserted=pixel_url is not None)


def rewrite_text(text: str, *, track_link: Callable[[str], str], rules: LinkRules = LinkRules()) -> Rewritten:
    """The http(s) URLs of a text/plain part, bounded as people write them (see TEXT_URL)."""
    if _compiled is None:
        return rewrite_text_in_python(text, track_link=track_link, rules=rules)
    body, tracked, skipped = _compiled.rewrite_text(text, track_link, _text_judge(rules), *_compiled_rules(rules))
    return Rewritten(body, tracked, [SkippedLink(*skip) for skip in skipped])


def _compiled_rules(rules: LinkRules) -> tuple[tuple[str, ...], frozenset[str], int]:
    return tuple(rules._hosts), rules.unsubscribe_urls, MAX_DESTINATION_BYTES


# What the compiled scanner asks of links it does not decide itself: judge(raw href, marked
# data-no-track, marked data-unsubscribe) -> (destination, why it is skipped or None, listed in links_skipped).
Judge = Callable[[str, bool, bool], tuple[str, str | None, bool]]


def _link_judge(rules: LinkRules) -> Judge:
    judged: dict[str, tuple[str, str | None]] = {}  # raw href -> (destination, why skipped); links repeat

    def judge(raw: str, no_track: bool, marked_unsubscribe: bool) -> tuple[str, str | None, bool]:
        if (verdict := judged.get(raw)) is None:
            url = clean_url(unescape_attribute(raw))
            verdict = judged[raw] = (url, rules.skip_reason(url))
        url, reason = verdict
        if reason != PLACEHOLDER and (no_track or marked_unsubscribe):
            reason = MARKED_NO_TRACK if no_track else MARKED_UNSUBSCRIBE
        # mailto:, #top, relative links: never links to track, not worth listing
        return url, reason, reason is not None and reason != NOT_HTTP

    return judge


def _text_judge(rules: LinkRules) -> Judge:
    return lambda url, _no_track, _unsubscribe: (url, rules.skip_reason(url), True)


# --- the same in Python: the specification the compiled scanner is tested against ---------------


def rewrite_html_in_python(
    document: str,
    *,
    track_link: Callable[[str], str] | None,
    pixel_url: str | None,
    rules: LinkRules = LinkRules(),
) -> Rewritten:
    result = Rewritten(body=document)
    if track_link is None and pixel_url is None:
        return result
    scanned = scan_html(document)
    edits: list[tuple[int, int, str]] = []
    if track_link is not None:
        judge = _link_judge(rules)
        for raw, start, end, no_track, marked_unsubscribe in scanned.anchors:
            url, reason, listed = judge(raw, no_track is not None, marked_unsubscribe)
            if no_track:
                edits.append((*no_track, ""))
            if reason:
                if listed:
                    result.skipped.append(SkippedLink(url, reason))
                continue
            tracking_url = track_link(url)
            if _NEEDS_ESCAPING.search(tracking_url):
                tracking_url = html.escape(tracking_url, quote=True)
            edits.append((start, end, tracking_url))
            result.tracked.append(url)
    if pixel_url is not None:
        at = scanned.body_end if scanned.body_end is not None else len(document)
        edits.append((at, at, pixel_tag(pixel_url)))
        result.pixel_inserted = True
    result.body = _splice(document, edits)
    return result


def rewrite_text_in_python(text: str, *, track_link: Callable[[str], str], rules: LinkRules = LinkRules()) -> Rewritten:
    result = Rewritten(body=text)
    edits = []
    judge = _text_judge(rules)
    for match in _text_urls(text):
        url = match.group()
        url, reason, _ = judge(url[: _url_end(url)], False, False)
        if reason:
            result.skipped.append(SkippedLink(url, reason))
            continue
        edits.append((match.start(), match.start() + len(url), track_link(url)))
        result.tracked.append(url)
    result.body = _splice(text, edits)
    return result


def _text_urls(text: str) -> Iterator[re.Match[str]]:
    """TEXT_URL's matches, found from their `://` (a search in C that a case-insensitive regex is not)."""
    pos = 0
    while (colon := text.find("://", pos)) != -1:
        scheme = text[max(colon - 5, 0) : colon].lower()
        start = colon - 5 if scheme == "https" else colon - 4 if scheme.endswith("http") else -1
        match = TEXT_URL.match(text, start) if start >= pos else None
        if match:
            yield match
        pos = match.end() if match else colon + 3


def _url_end(url: str) -> int:
    """Where a text URL ends once the sentence's punctuation after it is left out: `(see https://x.test/a).`"""
    end = len(url.rstrip(TRAILING_PUNCTUATION))
    if url[end - 1] == "|" and url[end : end + 1] == "*":
        end += 1  # the `*` closing a Mailchimp `*|TAG|*`
    return end


def _splice(source: str, edits: Iterable[tuple[int, int, str]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end, replacement in sorted(edits):  # in document order already, but for a few
        out += (source[pos:start], replacement)
        pos = end
    out.append(source[pos:])
    return "".join(out)

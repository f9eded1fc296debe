"""HTML and text rewriting: only hrefs change and the pixel is added; every other byte stays."""

from __future__ import annotations

import html
import pickle
import re
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from tracking import rewrite
from tracking.rewrite import (
    AMBIGUOUS,
    EXCLUDED,
    MARKED_NO_TRACK,
    MARKED_UNSUBSCRIBE,
    PLACEHOLDER,
    TOO_LONG,
    UNSUBSCRIBE,
    LinkRules,
    Rewritten,
    pixel_tag,
    rewrite_html,
    rewrite_text,
    unescape_attribute,
    unsubscribe_targets,
)

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "emails"
HTML_EMAILS = sorted(CORPUS.glob("*.html"))
TEXT_EMAILS = sorted(CORPUS.glob("*.txt"))
PIXEL = "https://t.example/t/o/PIXEL.gif"
TRACKED = re.compile(r"https://t\.example/t/c/(\d+)")


class Tracker:
    """Numbers each destination it is asked to track, like the real signer's link index."""

    def __init__(self) -> None:
        self.destinations: list[str] = []

    def __call__(self, destination: str) -> str:
        self.destinations.append(destination)
        return f"https://t.example/t/c/{len(self.destinations) - 1}"


@pytest.fixture(autouse=True, params=["compiled", "python"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every behaviour here holds for the compiled scanner (tracking/_rewrite.c) and for the Python one."""
    if request.param == "python":
        monkeypatch.setattr(rewrite, "_compiled", None)
    return request.param


REASONS = {PLACEHOLDER, AMBIGUOUS, TOO_LONG, UNSUBSCRIBE, EXCLUDED, MARKED_NO_TRACK, MARKED_UNSUBSCRIBE}
CONDITIONAL = re.compile(r"\[if[\t\n\f\r !(][^\]>]*\]>(.*)", re.S | re.I)
NESTED_IF = re.compile(r"<!--\[if[\t\n\f\r !(][^\]>]*\]>|<!\[endif\]\Z", re.I)


VML_SHAPES = ("rect", "roundrect", "oval", "shape", "line", "polyline", "curve", "arc", "image", "group")
LINK_TAGS = {"a", "area", *(f"v:{shape}" for shape in VML_SHAPES)}


def hrefs(document: str) -> list[str]:
    """What real HTML parsers see, in document order: the decoded href of every <a>, <area> and VML
    shape (<v:roundrect>, ...), and of those in the HTML that Outlook reads inside conditional
    comments (`<!--[if mso]> ... <![endif]-->`), each parsed by lexbor on its own."""
    found = []
    for node in LexborHTMLParser(document).root.parent.traverse(include_text=False):
        if node.is_comment_node:
            outlook = CONDITIONAL.match(node.comment_content or "")
            if outlook:
                found += hrefs(NESTED_IF.sub("", outlook.group(1)))
        elif node.tag in LINK_TAGS and "href" in node.attributes:
            found.append(node.attributes["href"] or "")
    return found


def is_http(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


NO_TRACK_MARKER = re.compile(r"""[\t\n\f\r ]+data-no-track(?:=(?:"[^"]*"|'[^']*'|[^\t\n\f\r >]*))?""", re.I)


def test_the_corpus_is_here():
    assert len(HTML_EMAILS) >= 30 and (CORPUS / "LICENSE-postmark-templates").is_file()
    assert len([p for p in HTML_EMAILS if "v:roundrect" in p.read_text().lower()]) >= 3  # Outlook buttons


@pytest.mark.parametrize("path", HTML_EMAILS, ids=lambda p: p.name)
def test_removing_the_pixel_and_restoring_hrefs_gives_back_the_original_bytes(path):
    original = path.read_text(encoding="utf-8")
    expected = NO_TRACK_MARKER.sub("", original)  # the one other documented edit
    tracker = Tracker()
    raw_hrefs = {}  # tracking URL -> the raw href it replaced, found independently of the rewriter

    result = rewrite_html(original, track_link=tracker, pixel_url=PIXEL)

    assert result.body.count(pixel_tag(PIXEL)) == 1
    without_pixel = result.body.replace(pixel_tag(PIXEL), "", 1)
    pieces = TRACKED.split(without_pixel)
    restored = pieces[0]
    original_pos = len(pieces[0])
    for index, text_after in zip(pieces[1::2], pieces[2::2], strict=False):
        # the original href runs from here to where the next unchanged text starts
        end = expected.index(text_after, original_pos) if text_after else len(expected)
        raw_hrefs[int(index)] = expected[original_pos:end]
        restored += raw_hrefs[int(index)] + text_after
        original_pos = end + len(text_after)
    assert restored == expected
    assert [html.unescape(raw_hrefs[i]) for i in range(len(tracker.destinations))] == tracker.destinations


@pytest.mark.parametrize("path", HTML_EMAILS, ids=lambda p: p.name)
def test_every_http_link_is_tracked_once_or_listed_with_its_reason(path):
    original = path.read_text(encoding="utf-8")
    tracker = Tracker()

    result = rewrite_html(original, track_link=tracker, pixel_url=PIXEL)

    before, after = hrefs(original), hrefs(result.body)
    listed = [s.url for s in result.skipped]
    assert len(after) == len(before)
    tracked = [(old, new) for old, new in zip(before, after, strict=True) if new != old]
    assert [new for _, new in tracked] == [f"https://t.example/t/c/{i}" for i in range(len(tracker.destinations))]
    assert [old for old, _ in tracked] == tracker.destinations
    untouched = [old for old, new in zip(before, after, strict=True) if new == old]
    assert [h for h in untouched if is_http(h) or "{{" in h] == listed  # nothing dropped silently
    assert {s.reason for s in result.skipped} <= REASONS


def test_a_vml_button_and_its_twin_are_both_tracked_and_outlook_only_links_too():
    original = (CORPUS / "outlook-vml-roundrect-button.html").read_text(encoding="utf-8")
    tracker = Tracker()

    result = rewrite_html(original, track_link=tracker, pixel_url=None)

    track = "https://shop.example/orders/10452/track?utm_source=email&utm_medium=button"
    returns, review = "https://shop.example/returns?order=10452", "https://shop.example/reviews/new?order=10452"
    assert tracker.destinations == [
        track,  # <v:roundrect href> in <!--[if mso]>
        track,  # its <a> twin
        returns,  # <v:rect href='...'>
        returns,  # its twin in <![if !mso]>
        review,  # <v:oval href=...> (unquoted)
        review + "&via=text",  # <a> inside the oval's <v:textbox>, Outlook only
        "https://shop.example/preferences",
    ]
    assert [h for h in hrefs_outside_comments(original) if is_http(h)] == [
        track,
        returns,
        "https://shop.example/preferences",
        "https://shop.example/unsubscribe?list=orders",
    ]
    assert [(s.url, s.reason) for s in result.skipped] == [
        ("https://shop.example/unsubscribe?list=orders", MARKED_UNSUBSCRIBE)
    ]


def hrefs_outside_comments(document: str) -> list[str]:
    return [node.attributes["href"] or "" for node in LexborHTMLParser(document).css("a[href], area[href]")]


@pytest.mark.parametrize("path", HTML_EMAILS[:3], ids=lambda p: p.name)
def test_nothing_changes_for_a_disabled_kind(path):
    original = path.read_text(encoding="utf-8")

    untouched = rewrite_html(original, track_link=None, pixel_url=None)
    opens_only = rewrite_html(original, track_link=None, pixel_url=PIXEL)
    clicks_only = rewrite_html(original, track_link=Tracker(), pixel_url=None)

    assert untouched.body == original
    assert opens_only.body.replace(pixel_tag(PIXEL), "") == original and "/t/c/" not in opens_only.body
    assert "/t/o/" not in clicks_only.body


def test_the_pixel_goes_before_the_last_body_end_tag_outside_comments():
    document = "<html><body><!-- </body> --><p>x</p></BODY >\n</html>"

    result = rewrite_html(document, track_link=None, pixel_url=PIXEL)

    assert result.body == f"<html><body><!-- </body> --><p>x</p>{pixel_tag(PIXEL)}</BODY >\n</html>"


def test_the_pixel_goes_at_the_end_of_a_fragment_without_body():
    result = rewrite_html("<p>Hello</p>", track_link=None, pixel_url=PIXEL)

    assert result.body == "<p>Hello</p>" + pixel_tag(PIXEL)


RULES = LinkRules(
    excluded_hosts=("partner.example", "bücher.example"),
    unsubscribe_urls=unsubscribe_targets("<mailto:u@list.example>, <https://list.example/u/123>"),
)


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("mailto:a@b.example", None),
        ("tel:+911234", None),
        ("sms:+911234", None),
        ("#top", None),
        ("/relative/path", None),
        ("javascript:void(0)", None),
        ('https://x.example/unsub" data-unsubscribe x="', MARKED_UNSUBSCRIBE),
        ("https://cdn.partner.example/x", EXCLUDED),
        ("https://partner.example/x", EXCLUDED),
        ("https://PARTNER.Example./x", EXCLUDED),
        ("https://ｐａｒｔｎｅｒ。example/x", EXCLUDED),  # fullwidth letters and dot: browsers go to partner.example
        ("https://xn--bcher-kva.example/x", EXCLUDED),
        ("https://bücher.example/x", EXCLUDED),
        ("https://user@partner.example/x", EXCLUDED),
        ("https://list.example/u/123", UNSUBSCRIBE),
        ("https://x.example/" + "l" * 5000, TOO_LONG),
        # links a browser follows but that a URL parser could read differently: never tracked, always listed
        ("https:/x.example/a", AMBIGUOUS),
        ("https:x.example/a", AMBIGUOUS),
        ("https:\\\\x.example/a", AMBIGUOUS),
        ("https:///x.example/a", AMBIGUOUS),
        ("//x.example/a", AMBIGUOUS),
        ("\\\\x.example/a", AMBIGUOUS),
        ("https://partner.example\\@x.example/", AMBIGUOUS),  # browsers: host partner.example; Python: x.example
        ("https://x.example\\a", AMBIGUOUS),
        ("https://%70artner.example/", AMBIGUOUS),
        ("https://x.example:99999/", AMBIGUOUS),
        ("https://[::1/", AMBIGUOUS),
        ("https://", AMBIGUOUS),
        # positive controls: plain links with the same characters elsewhere are tracked
        ("https://x.example/a?path=\\b", None),
        ("https://x.example/a#\\b", None),
        ("https://x.example/50%25", None),
        ("HTTPS://X.EXAMPLE/A", None),
        ("https://x.example:8443/", None),
    ],
)
def test_links_that_must_not_be_tracked_are_left_as_they_are_and_listed(href, reason):
    document = f'<body><a href="{href}">x</a></body>'
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None, rules=RULES)

    if reason is None and is_http(href):
        assert tracker.destinations == [href] and result.skipped == []
        return
    assert result.body == document and tracker.destinations == []
    assert [s.reason for s in result.skipped] == ([reason] if reason else [])


PLACEHOLDERS = [
    "https://x.example/?u={{user_id}}",
    "https://x.example/?u={{ contact.EMAIL }}",
    "https://x.example/{% url 'home' %}",
    "https://x.example/?u=*|EMAIL|*",
    "https://x.example/?u=[[UserID]]",
    "https://x.example/?u=[[var:id]]",
    "https://x.example/?u=%recipient.id%",
    "https://x.example/?u=%recipient%",
    "https://x.example/?u=%%email%%",
    "https://x.example/?u=%EMAIL%",
    "https://x.example/?u={email}",
    "https://x.example/?u={contactfield=email}",
    "https://x.example/u/[UserID]",
    "https://x.example/?u=[email]&v=1",
    "https://x.example/?u=${user.id}",
    "https://x.example/?u={$email}",
    "https://x.example/?u={!email}",
    "https://x.example/?u=<%= user.id %>",
    "https://x.example/?u=$[LI:EMAIL]$",
    "https://x.example/?u=%7B%7Buser_id%7D%7D",
    "https://x.example/?u=%2A%7CEMAIL%7C%2A",
    "https://x.example/?u=*%7CEMAIL%7C*",
    "https://x.example/?u=%5B%5BUserID%5D%5D",
    "https://x.example/?u=%5BUserID%5D",
    "https://x.example/?u=%25recipient.id%25",
    "https://x.example/?u=%257B%257Bid%257D%257D",  # encoded twice
    "{{action_url}}",
    "mailto:{{support_email}}",
]
NOT_PLACEHOLDERS = [
    "https://x.example/?filter[status]=active&sort[by]=date",
    "https://x.example/?ids[]=1&ids[]=2",
    "https://x.example/?q=%E2%80%99s%20best",
    "https://x.example/?discount=50%25&b=%41%42",
    "https://x.example/?q=[1]",
    "https://[2001:db8::1]/a",
    "https://x.example/?state=%7B%22a%22%3A1%7D",
    "https://x.example/a|b*c",
]


@pytest.mark.parametrize("href", PLACEHOLDERS)
def test_leftover_merge_tags_of_every_common_platform_are_listed_as_placeholders(href):
    document = f"<body><a href='{html.escape(href)}'>x</a></body>"

    result = rewrite_html(document, track_link=Tracker(), pixel_url=None)

    assert result.body == document
    assert [(s.url, s.reason) for s in result.skipped] == [(href, PLACEHOLDER)]


@pytest.mark.parametrize("href", NOT_PLACEHOLDERS)
def test_urls_that_only_look_like_merge_tags_are_tracked(href):
    tracker = Tracker()

    result = rewrite_html(f"<a href='{html.escape(href)}'>x</a>", track_link=tracker, pixel_url=None)

    assert tracker.destinations == [href] and result.skipped == []


def test_a_placeholder_wins_over_a_data_no_track_mark_so_the_sender_sees_it():
    result = rewrite_html(
        '<a data-no-track href="https://x.example/?u={{id}}">a</a><a data-no-track href="https://x.example/b">b</a>',
        track_link=Tracker(),
        pixel_url=None,
    )

    assert [s.reason for s in result.skipped] == [PLACEHOLDER, MARKED_NO_TRACK]
    assert "data-no-track" not in result.body


def test_data_no_track_skips_the_link_and_removes_the_marker():
    document = '<a class="b"\n   data-no-track href="https://x.example/a">a</a><a href=https://x.example/b DATA-NO-TRACK=1>b</a>'

    result = rewrite_html(document, track_link=Tracker(), pixel_url=None)

    assert result.body == '<a class="b" href="https://x.example/a">a</a><a href=https://x.example/b>b</a>'
    assert result.tracked == []


def test_entities_are_decoded_before_tracking_and_query_strings_survive_exactly():
    document = '<a href="https://x.example/p?a=1&amp;b=2&copy=3&#38;c=%20&lt">x</a>'
    tracker = Tracker()

    rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/p?a=1&b=2&copy=3&c=%20<"]
    assert tracker.destinations == hrefs(document)


def test_tracking_urls_are_html_escaped_in_the_attribute():
    result = rewrite_html(
        '<a href="https://x.example/">x</a>', track_link=lambda url: "https://t.example/c?a=1&b=2", pixel_url=None
    )

    assert result.body == '<a href="https://t.example/c?a=1&amp;b=2">x</a>'


def test_quotes_unquoted_values_area_tags_and_odd_spacing_are_handled():
    document = (
        "<A HREF='https://x.example/1'>1</A><a title='a > b' href = https://x.example/2>2</a>"
        '<map><area shape="rect" href="https://x.example/3"></map><a href="https://x.example/4" href="https://x.example/dup">4</a>'
    )
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == [
        "https://x.example/1",
        "https://x.example/2",
        "https://x.example/3",
        "https://x.example/4",
    ]
    assert "HREF='https://t.example/t/c/0'" in result.body and "href = https://t.example/t/c/1>" in result.body
    assert 'href="https://x.example/dup"' in result.body


def test_links_revealed_to_clients_other_than_outlook_are_rewritten_and_the_markers_kept():
    document = (
        '<!--[if !mso]><!--><a href="https://x.example/web">w</a><!--<![endif]-->'
        '<![if !vml]><a href="https://x.example/novml">v</a><![endif]><!--> <a href="https://x.example/after">a</a><!-- x --!>'
    )
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert (
        tracker.destinations
        == [h for h in hrefs(document) if is_http(h)]
        == ["https://x.example/web", "https://x.example/novml", "https://x.example/after"]
    )
    assert TRACKED.sub("", result.body) == re.sub(r"https://x\.example/\w+", "", document)


def test_tags_whose_names_only_start_like_a_or_area_are_not_links():
    document = (
        '<abbr title="a"><address><areas href="https://x.example/no"><a\thref="https://x.example/yes">y</a></address>'
    )
    tracker = Tracker()

    rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/yes"]


def test_an_unterminated_tag_at_the_end_is_left_alone():
    document = '<a href="https://x.example/1">1</a><a href="https://x.example/2"'
    tracker = Tracker()

    rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/1"]


def test_unescape_keeps_legacy_entities_followed_by_equals_or_alphanumerics():
    assert unescape_attribute("?a=1&copy=2&amp;b&ampx&amp") == "?a=1&copy=2&b&ampx&"
    assert (
        unescape_attribute("&notit;&notin;&#x41;&#65;")
        == "&notit;∉AA"
        == hrefs('<a href="&notit;&notin;&#x41;&#65;">')[0]
    )


def test_links_inside_plain_comments_styles_scripts_and_attributes_are_not_links():
    document = (
        '<!-- <a href="https://x.example/commented"> --><!--[if mso]><style>a[href="https://x.example/css-mso"]{}</style><![endif]-->'
        '<style>a[href="https://x.example/css"]{} </style ><script>\'<a href="https://x.example/js">\'</script>'
        '<img alt=\'<a href="https://x.example/alt">\'><title><a href="https://x.example/title"></title>'
        '<textarea><a href="https://x.example/ta"></textarea><a href="https://x.example/real">r</a>'
    )
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/real"] == [h for h in hrefs(document) if is_http(h)]
    assert result.body == document.replace('"https://x.example/real"', '"https://t.example/t/c/0"')


@pytest.mark.parametrize(
    "document",
    [
        '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="https://x.example/1"><w:anchorlock/></v:roundrect><![endif]-->',
        "<!--[if mso]><v:rect href='https://x.example/1' stroke=\"f\"></v:rect><![endif]-->",
        "<!--[if gte mso 9]><v:shape href=https://x.example/1></v:shape><![endif]-->",
        '<!--[if (gte mso 9)|(IE)]><table><tr><td><a href="https://x.example/1">a</a></td></tr></table><![endif]-->',
        '<!--[if mso | IE]><area href="https://x.example/1"><![endif]-->',
        '<!--[IF MSO]><V:ROUNDRECT HREF="https://x.example/1"></V:ROUNDRECT><![ENDIF]-->',
        '<!--[if !mso]><a href="https://x.example/1">old IE only</a><![endif]-->',
        '<v:roundrect href="https://x.example/1"></v:roundrect>',  # VML outside a comment: Outlook reads it too
        '<!--[if mso]><v:roundrect\n   href="https://x.example/1"\n   style="height:40px"><![endif]--!>',
    ],
    ids=["roundrect", "rect", "shape", "a", "area", "upper-case", "not-mso", "bare-vml", "multi-line"],
)
def test_outlook_links_in_conditional_comments_and_vml_are_tracked(document):
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/1"] == hrefs(document)
    assert result.body == document.replace("https://x.example/1", "https://t.example/t/c/0")


def test_nested_conditional_comments_are_read_as_outlook_reads_them():
    document = (
        '<!--[if mso]><table><tr><td><!--[if gte mso 12]><a href="https://x.example/inner">i</a><![endif]-->'
        '<a href="https://x.example/after">a</a><![endif]-->'
        '<!--[if mso]><!-- a comment in Outlook\'s HTML --><a href="https://x.example/real">r</a><![endif]-->'
    )
    tracker = Tracker()

    rewrite_html(document, track_link=tracker, pixel_url=None)

    # the first `-->` ends the comment: `after` and `real` are ordinary links for every client
    assert (
        tracker.destinations
        == hrefs(document)
        == ["https://x.example/inner", "https://x.example/after", "https://x.example/real"]
    )


def test_skip_rules_apply_to_outlook_links_too():
    document = (
        "<!--[if mso]>"
        '<v:roundrect href="mailto:help@x.example"></v:roundrect>'
        '<v:roundrect href="https://x.example/?u={{id}}"></v:roundrect>'
        '<v:roundrect href="https://x.example/no" data-no-track></v:roundrect>'
        '<v:roundrect href="https://x.example/unsub" data-unsubscribe></v:roundrect>'
        '<v:roundrect href="https://partner.example/p"></v:roundrect>'
        '<v:roundrect href="https://list.example/u/123"></v:roundrect>'
        '<v:roundrect href="https:x.example"></v:roundrect>'
        '<v:roundrect href="https://x.example/yes"></v:roundrect>'
        "<![endif]-->"
    )
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None, rules=RULES)

    assert tracker.destinations == ["https://x.example/yes"]
    assert [s.reason for s in result.skipped] == [
        PLACEHOLDER,
        MARKED_NO_TRACK,
        MARKED_UNSUBSCRIBE,
        EXCLUDED,
        UNSUBSCRIBE,
        AMBIGUOUS,
    ]
    assert 'href="https://x.example/no"></v:roundrect>' in result.body  # the marker removed, the rest kept


def test_tags_inside_outlook_html_cannot_escape_their_comment():
    document = (
        '<!--[if mso]><table><tr><td title="unclosed><![endif]--><a href="https://x.example/a">a</a>'
        '<!--[if mso]><style>.x{}<![endif]--><a href="https://x.example/b">b</a>'
        '<!--[if mso]><a href="https://x.example/c"<![endif]--><a href="https://x.example/d">d</a>'
    )
    tracker = Tracker()

    rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/a", "https://x.example/b", "https://x.example/d"]


def test_an_unterminated_conditional_comment_is_outlook_html_to_the_end():
    document = '<a href="https://x.example/a">a</a><!--[if mso]><v:rect href="https://x.example/b"></v:rect></body>'
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=PIXEL)

    assert tracker.destinations == ["https://x.example/a", "https://x.example/b"]
    assert result.body.endswith("</body>" + pixel_tag(PIXEL))  # that </body> is inside a comment


def test_the_pixel_ignores_a_body_end_tag_inside_outlook_html():
    document = "<body><p>x</p></body><!--[if mso]></body><![endif]-->"

    result = rewrite_html(document, track_link=None, pixel_url=PIXEL)

    assert result.body == f"<body><p>x</p>{pixel_tag(PIXEL)}</body><!--[if mso]></body><![endif]-->"


WORST_CASES = {
    "200k-char href": ("https://x.example/" + "a" * 200_000, "https://x.example/" + "a" * 200_000),
    "run of &": ("https://x.example/?" + "&" * 100_000, "https://x.example/?" + "&" * 100_000),
    "run of &#": ("https://x.example/?" + "&#" * 100_000, "https://x.example/?" + "&#" * 100_000),
    "run of &amp": ("https://x.example/?" + "&amp" * 50_000, "https://x.example/?" + "&" * 50_000),
    "long entity name": ("https://x.example/?&" + "a" * 100_000 + ";", "https://x.example/?&" + "a" * 100_000 + ";"),
    "long decimal reference": ("https://x.example/?&#" + "9" * 100_000 + ";x", "https://x.example/?\ufffdx"),
    "long hex reference": ("https://x.example/?&#x" + "0" * 100_000 + "41;", "https://x.example/?A"),
    "long host": ("https://" + "a" * 200_000 + ".example/", "https://" + "a" * 200_000 + ".example/"),
    "long IDN host": ("https://" + "ü" * 100_000 + ".example/", "https://" + "ü" * 100_000 + ".example/"),
}


@pytest.mark.parametrize(("href", "destination"), WORST_CASES.values(), ids=WORST_CASES.keys())
def test_worst_case_hrefs_are_decoded_like_browsers(href, destination):
    document = f'<a href="{href}">x</a><a href="https://x.example/ok">ok</a>'
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert hrefs(document)[0] == destination
    assert tracker.destinations[-1] == "https://x.example/ok"
    assert tracker.destinations[:-1] + [s.url for s in result.skipped] == [destination]  # tracked, or listed
    assert {s.reason for s in result.skipped} <= {TOO_LONG, AMBIGUOUS}


@pytest.mark.parametrize(
    "document",
    [
        "<!--" + "x" * 100_000,
        "<!--[if mso]>" + "<a " * 30_000,
        "<a " * 30_000,
        '<a href="' + "x" * 100_000,
        "<div title='" + "x" * 100_000,
        "<style>" + "<a href=x>" * 10_000,
        "<" * 100_000,
        "<!--[if " * 30_000,
        "</" * 50_000,
        "<!" * 50_000,
        "<a href=" * 30_000,
        "&" * 100_000,
        '<a href="https://x.example/">' * 10_000,
    ],
    ids=[
        "comment",
        "conditional-tags",
        "tags",
        "href",
        "quote",
        "style",
        "lt",
        "if",
        "end-tags",
        "bang",
        "hrefs",
        "amps",
        "10k-links",
    ],
)
def test_unclosed_constructs_keep_every_byte(document):
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert TRACKED.sub("https://x.example/", result.body) == document
    assert len(tracker.destinations) == (10_000 if document.startswith('<a href="https://') else 0)


def test_numeric_references_follow_the_html_rules():
    cases = "&#65;&#x41;&#0;&#x110000;&#xD800;&#128;&#x80;&#00000000000065;&#x000000000041;&#65x"
    assert (
        unescape_attribute(cases) == html.unescape(cases) == hrefs(f'<a href="{cases}">')[0].replace("\x00", "\ufffd")
    )


@pytest.mark.parametrize("path", TEXT_EMAILS, ids=lambda p: p.name)
def test_text_parts_have_their_urls_rewritten_and_nothing_else(path):
    original = path.read_text(encoding="utf-8")
    tracker = Tracker()

    result = rewrite_text(original, track_link=tracker)

    restored = TRACKED.sub(lambda m: tracker.destinations[int(m.group(1))], result.body)
    assert restored == original
    assert all(is_http(url) and "{{" not in url for url in tracker.destinations)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("See https://x.example/a.", "https://x.example/a"),
        ("https://x.example/a, then", "https://x.example/a"),
        ("(see https://x.example/a)", "https://x.example/a"),
        ("(see https://x.example/a).", "https://x.example/a"),
        ("[the docs](https://x.example/a)", "https://x.example/a"),
        ("[https://x.example/a](https://x.example/b)", "https://x.example/a"),
        ("<https://x.example/a>", "https://x.example/a"),
        ('"https://x.example/a"', "https://x.example/a"),
        ("“https://x.example/a”", "https://x.example/a"),
        ("‘https://x.example/a’", "https://x.example/a"),
        ("«https://x.example/a»", "https://x.example/a"),
        ("https://x.example/a…", "https://x.example/a"),
        ("https://x.example/a...", "https://x.example/a"),
        ("`https://x.example/a`", "https://x.example/a"),
        ("**https://x.example/a**", "https://x.example/a"),
        ("https://x.example/a!", "https://x.example/a"),
        ("https://x.example/a?", "https://x.example/a"),
        ("https://x.example/a:", "https://x.example/a"),
        ("https://x.example/a;", "https://x.example/a"),
        ("詳細はhttps://x.example/a。次へ", "https://x.example/a"),
        ("https://x.example/a、https://x.example/b", "https://x.example/a"),
        ("https://x.example/a！すごい", "https://x.example/a"),
        ("https://x.example/a？", "https://x.example/a"),
        ("（https://x.example/a）", "https://x.example/a"),
        ("「https://x.example/a」", "https://x.example/a"),
        ("https://x.example/wiki/Foo_(bar)", "https://x.example/wiki/Foo_(bar)"),
        ("(https://x.example/wiki/Foo_(bar))", "https://x.example/wiki/Foo_(bar)"),
        ("[Foo](https://x.example/wiki/Foo_(bar))", "https://x.example/wiki/Foo_(bar)"),
        ("https://x.example/wiki/A_(b_(c))", "https://x.example/wiki/A_(b_(c))"),
        ("https://x.example/?q=[1]&r=2.", "https://x.example/?q=[1]&r=2"),
        ("https://x.example/a(b", "https://x.example/a(b"),
        ("https://x.example/日本語/ページ", "https://x.example/日本語/ページ"),
        ("https://[::1]:8080/a.", "https://[::1]:8080/a"),
        ("HTTPS://X.EXAMPLE/A", "HTTPS://X.EXAMPLE/A"),
        ("https://x.example/a\u3000next", "https://x.example/a"),
    ],
)
def test_text_urls_end_where_people_end_them(text, url):
    tracker = Tracker()

    result = rewrite_text(text, track_link=tracker)

    assert tracker.destinations[0] == url
    assert result.body.startswith(text[: text.index(url)] + "https://t.example/t/c/0")
    assert TRACKED.sub(lambda m: tracker.destinations[int(m.group(1))], result.body) == text  # nothing lost


def test_text_urls_with_placeholders_or_problems_are_listed_and_kept():
    text = (
        "{{url}} and https://x.example/?u={{id}}. Web: https://x.example/v/*|UID|*\n"
        "https://x.example/?t=%7B%7Btoken%7D%7D, https://x.example\\evil and https://x.example/ok."
    )
    tracker = Tracker()

    result = rewrite_text(text, track_link=tracker)

    assert tracker.destinations == ["https://x.example/ok"]
    assert [(s.url, s.reason) for s in result.skipped] == [
        ("https://x.example/?u={{id}}", PLACEHOLDER),
        ("https://x.example/v/*|UID|*", PLACEHOLDER),
        ("https://x.example/?t=%7B%7Btoken%7D%7D", PLACEHOLDER),
        ("https://x.example\\evil", AMBIGUOUS),
    ]
    assert result.body == text.replace("https://x.example/ok", "https://t.example/t/c/0")


@pytest.mark.parametrize(
    "text",
    [
        "https://x.example/" + "(" * 100_000,
        "https://x.example/" + ")" * 100_000,
        "https://x.example/" + "(a" * 50_000,
        "https://x.example/" + "[(" * 50_000 + ")]" * 50_000,
        "https://x.example/a" + "." * 100_000 + "b",
        "https://x.example/a" + "." * 100_000,
        "https://x.example/" + "a" * 200_000,
        "https://x.example/?" + "%" * 100_000,
        "https://x.example/?" + "{a" * 50_000,
        "https://x.example/?" + "[a" * 50_000,
        "https://x.example/?" + "%a" * 50_000,
        "https://" * 20_000,
    ],
    ids=[
        "opens",
        "closes",
        "open-letter",
        "nested",
        "dots-inside",
        "dots-after",
        "long",
        "percent",
        "braces",
        "brackets",
        "percent-words",
        "schemes",
    ],
)
def test_worst_case_text_keeps_every_character(text):
    tracker = Tracker()

    result = rewrite_text(text, track_link=tracker)

    assert TRACKED.sub(lambda m: tracker.destinations[int(m.group(1))], result.body) == text


def picklable_tracker(destination: str) -> str:
    return "https://t.example/t/c/x?d=" + destination


def test_inputs_and_results_pickle_for_a_process_pool():
    rules = pickle.loads(pickle.dumps(RULES))  # noqa: S301  (our own bytes)
    document = '<a href="https://partner.example/a">a</a><a href="https://x.example/b">b</a>'

    track_link = pickle.loads(pickle.dumps(picklable_tracker))  # noqa: S301

    result = rewrite_html(document, track_link=track_link, pixel_url=PIXEL, rules=rules)
    copy = pickle.loads(pickle.dumps(result))  # noqa: S301

    assert isinstance(copy, Rewritten) and copy == result
    assert copy.tracked == ["https://x.example/b"] and [s.reason for s in copy.skipped] == [EXCLUDED]


def test_a_stray_endif_and_raw_text_in_outlook_html_do_not_change_what_browsers_see():
    document = (
        '<p>x</p><![endif]--><a href="https://x.example/a">a</a>'
        '<!--[if mso]><script>var a = "<a href=\\"https://x.example/js\\">";</script><a href="https://x.example/b">b</a><![endif]-->'
        '<!--[if mso]><title>t<![endif]--><a href="https://x.example/c">c</a>'
    )
    tracker = Tracker()

    rewrite_html(document, track_link=tracker, pixel_url=None)

    assert (
        tracker.destinations == hrefs(document) == ["https://x.example/a", "https://x.example/b", "https://x.example/c"]
    )

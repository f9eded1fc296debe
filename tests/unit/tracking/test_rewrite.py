"""HTML and text rewriting: only hrefs change and the pixel is added; every other byte stays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from tracking.rewrite import LinkRules, pixel_tag, rewrite_html, rewrite_text, unescape_attribute, unsubscribe_targets

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


def hrefs(document: str) -> list[str]:
    """What a real HTML parser sees: every <a>/<area> href, decoded."""
    return [node.attributes["href"] for node in LexborHTMLParser(document).css("a[href], area[href]")]


def is_http(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def test_the_corpus_is_here():
    assert len(HTML_EMAILS) >= 30 and (CORPUS / "LICENSE-postmark-templates").is_file()


@pytest.mark.parametrize("path", HTML_EMAILS, ids=lambda p: p.name)
def test_removing_the_pixel_and_restoring_hrefs_gives_back_the_original_bytes(path):
    original = path.read_text(encoding="utf-8")
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
        end = original.index(text_after, original_pos) if text_after else len(original)
        raw_hrefs[int(index)] = original[original_pos:end]
        restored += raw_hrefs[int(index)] + text_after
        original_pos = end + len(text_after)
    assert restored == original
    assert [unescape_attribute(raw_hrefs[i]) for i in range(len(tracker.destinations))] == tracker.destinations


@pytest.mark.parametrize("path", HTML_EMAILS, ids=lambda p: p.name)
def test_every_http_link_is_rewritten_exactly_once_and_skipped_links_are_untouched(path):
    original = path.read_text(encoding="utf-8")
    tracker = Tracker()

    result = rewrite_html(original, track_link=tracker, pixel_url=PIXEL)

    before = hrefs(original)
    after = hrefs(result.body)
    assert tracker.destinations == [h for h in before if is_http(h)]
    assert [h for h in after if h.startswith("https://t.example/t/c/")] == [
        f"https://t.example/t/c/{i}" for i in range(len(tracker.destinations))
    ]
    assert [h for h in after if not h.startswith("https://t.example/t/c/")] == [h for h in before if not is_http(h)]


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


@pytest.mark.parametrize(
    ("anchor", "reason"),
    [
        ('<a href="mailto:a@b.example">m</a>', None),
        ('<a href="tel:+911234">t</a>', None),
        ('<a href="sms:+911234">s</a>', None),
        ('<a href="#top">top</a>', None),
        ('<a href="{{action_url}}">a</a>', None),
        ('<a href="https://x.example/?u={{user_id}}">a</a>', "template placeholder"),
        ('<a href="https://x.example/?u=*|EMAIL|*">a</a>', "template placeholder"),
        ('<a href="https://x.example/unsub" data-unsubscribe>u</a>', "marked data-unsubscribe"),
        ('<a href="https://cdn.partner.example/x">x</a>', "excluded destination"),
        ('<a href="https://partner.example/x">x</a>', "excluded destination"),
        ('<a href="https://list.example/u/123">u</a>', "unsubscribe link"),
        ('<a href="https://x.example/' + "l" * 5000 + '">long</a>', "destination too long"),
    ],
)
def test_links_that_must_not_be_tracked_are_left_as_they_are(anchor, reason):
    rules = LinkRules(
        excluded_hosts=("partner.example",),
        unsubscribe_urls=unsubscribe_targets("<mailto:u@list.example>, <https://list.example/u/123>"),
    )
    document = f"<body>{anchor}</body>"

    result = rewrite_html(document, track_link=Tracker(), pixel_url=None, rules=rules)

    assert result.body == document
    assert [s.reason for s in result.skipped] == ([reason] if reason else [])


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


def test_links_inside_comments_conditional_comments_styles_scripts_and_attributes_are_not_links():
    document = (
        '<!--[if mso]><v:roundrect href="https://x.example/vml"><a href="https://x.example/mso">o</a><![endif]-->'
        '<style>a[href="https://x.example/css"]{} </style ><script>\'<a href="https://x.example/js">\'</script>'
        '<img alt=\'<a href="https://x.example/alt">\'><title><a href="https://x.example/title"></title>'
        '<textarea><a href="https://x.example/ta"></textarea><a href="https://x.example/real">r</a>'
    )
    tracker = Tracker()

    result = rewrite_html(document, track_link=tracker, pixel_url=None)

    assert tracker.destinations == ["https://x.example/real"] == [h for h in hrefs(document) if is_http(h)]
    assert result.body == document.replace('"https://x.example/real"', '"https://t.example/t/c/0"')


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


@pytest.mark.parametrize("path", TEXT_EMAILS, ids=lambda p: p.name)
def test_text_parts_have_their_bare_urls_rewritten_and_nothing_else(path):
    original = path.read_text(encoding="utf-8")
    tracker = Tracker()

    result = rewrite_text(original, track_link=tracker)

    restored = TRACKED.sub(lambda m: tracker.destinations[int(m.group(1))], result.body)
    assert restored == original
    assert all(is_http(url) and "{{" not in url for url in tracker.destinations)


def test_text_urls_end_before_trailing_punctuation():
    tracker = Tracker()

    result = rewrite_text(
        "See https://x.example/a_(b). Or (https://x.example/c), {{url}} and https://x.example/?u={{id}}.",
        track_link=tracker,
    )

    assert tracker.destinations == ["https://x.example/a_(b)", "https://x.example/c"]
    assert (
        result.body
        == "See https://t.example/t/c/0. Or (https://t.example/t/c/1), {{url}} and https://x.example/?u={{id}}."
    )
    assert [s.reason for s in result.skipped] == ["template placeholder"]

import random
from urllib.parse import urlencode

import pytest

from tracking.journey.urls import ALLOWED_QUERY_KEYS, BadUrl, reduce_url, referrer_host


def test_only_the_path_and_utm_keys_of_a_url_are_kept():
    path, query = reduce_url(
        "https://mailssetu.in/pricing?email=bob%40example.com&utm_source=newsletter&token=abc&utm_medium=email#top"
    )
    assert path == "/pricing"
    assert query == "utm_source=newsletter&utm_medium=email"


def test_a_url_without_allowed_keys_has_no_query():
    assert reduce_url("/signup?next=/dashboard&email=a@b.c") == ("/signup", None)


def test_a_bare_path_is_accepted_and_an_empty_path_is_the_root():
    assert reduce_url("/docs/api") == ("/docs/api", None)
    assert reduce_url("https://mailssetu.in") == ("/", None)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/unsubscribe/bob@example.com", "/unsubscribe/:email"),
        ("/unsubscribe/bob%40example.com", "/unsubscribe/:email"),
        ("/invoices/3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e", "/invoices/:id"),
        ("/reset/eyJhbGciOiJIUzI1NiJ9abcDEF123xyz", "/reset/:id"),
        ("/blog/how-we-send-2024-newsletters-faster", "/blog/how-we-send-2024-newsletters-faster"),
        ("/orders/12345", "/orders/12345"),
    ],
)
def test_path_segments_that_look_like_emails_or_tokens_are_masked(url, expected):
    assert reduce_url(url)[0] == expected


def test_long_query_values_are_cut():
    _, query = reduce_url("/?utm_campaign=" + "x" * 500)
    assert query == "utm_campaign=" + "x" * 90


def test_five_long_values_of_multibyte_characters_still_fit_the_query_column():
    values = {key: char * 200 for key, char in zip(ALLOWED_QUERY_KEYS, "€😀aé\x00", strict=True)}
    _, query = reduce_url("/?" + urlencode(values))
    assert len(query) <= 512  # the column; PostgreSQL refuses more
    assert [part.split("=")[0] for part in query.split("&")] == list(ALLOWED_QUERY_KEYS)
    assert query.startswith("utm_source=%E2%82%AC%E2%82%AC")  # cut on a character, never inside one


@pytest.mark.parametrize("url", ["http://[", "http://[::1", "https://[not-an-address]/x", "//[", "http://a]b[/"])
def test_urls_that_do_not_parse_are_bad_urls_not_crashes(url):
    with pytest.raises(BadUrl):
        reduce_url(url)
    with pytest.raises(BadUrl):
        referrer_host(url)


def test_no_url_makes_the_reduction_fail_other_than_with_bad_url():
    """Bounded fuzz over the characters URL parsers trip on: BadUrl or a reduced URL, nothing else."""
    pieces = [*"htps:/[]@?#&=%.:-_~ aZ09", "%zz", "%e2%82", "::1", "[::1]", ":99999", "utm_source=", "é", "\\"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
        for candidate in (text, "http://" + text, "/" + text):
            for reduce in (reduce_url, referrer_host):
                try:
                    result = reduce(candidate)
                except BadUrl:
                    continue
                path = result[0] if isinstance(result, tuple) else result
                assert path is None or len(path) <= 512


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "relative/page", "ftp://files.example/x", "mailto:bob@example.com"]
)
def test_anything_but_an_http_url_or_absolute_path_is_refused(url):
    with pytest.raises(BadUrl):
        reduce_url(url)


def test_a_referrer_is_reduced_to_its_host():
    assert referrer_host("https://news.example.org:8443/post?id=7&email=a@b.c") == "news.example.org"
    assert referrer_host("news.example.org") == "news.example.org"
    assert referrer_host(None) is None
    with pytest.raises(BadUrl):
        referrer_host("javascript:alert(1)")

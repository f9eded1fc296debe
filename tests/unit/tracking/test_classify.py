"""Client classes: people, mail providers' proxies and security scanners."""

from datetime import UTC, datetime, timedelta

import pytest

from tracking.classify import BurstDetector, classify_agent, classify_timing, network_hint

SENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.mark.parametrize(
    ("kind", "agent", "network", "client_class"),
    [
        (
            "open",
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            None,
            "gmail_proxy",
        ),
        ("open", "Mozilla/5.0", None, "apple_privacy_proxy"),
        (
            "open",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
            None,
            "apple_privacy_proxy",
        ),
        ("open", IPHONE_MAIL, "apple", "apple_privacy_proxy"),
        ("open", IPHONE_MAIL, None, "human"),
        ("click", FIREFOX, None, "human"),
        ("click", "Mozilla/5.0 (compatible; Barracuda Sentinel)", None, "security_scanner"),
        ("click", "python-requests/2.31", None, "security_scanner"),
        ("click", "", None, "unknown"),
        ("open", "SomethingElse/1.0", None, "unknown"),
    ],
)
def test_the_user_agent_and_network_give_the_client_class(kind, agent, network, client_class):
    verdict = classify_agent(kind, agent, network)

    assert verdict.client_class == client_class and verdict.reason


def test_only_apple_addresses_get_a_network_hint():
    assert network_hint("17.58.1.2") == "apple"
    assert network_hint("2620:149:a:b::1") == "apple"
    assert network_hint("171.5.5.5") is None and network_hint("10.0.0.1") is None and network_hint(None) is None


def test_a_click_seconds_after_sending_is_a_scanner():
    human = classify_agent("click", FIREFOX, None)

    soon = classify_timing("click", human, SENT, SENT + timedelta(seconds=3), None)
    later = classify_timing("click", human, SENT, SENT + timedelta(minutes=5), None)

    assert soon.client_class == "security_scanner" and "after sending" in soon.reason
    assert later.client_class == "human"


def test_many_links_of_one_email_within_seconds_is_a_burst():
    bursts = BurstDetector()
    at = SENT + timedelta(hours=1)

    assert bursts.click(1, 0, at) is None
    assert bursts.click(1, 1, at + timedelta(seconds=1)) is None
    assert bursts.click(2, 2, at + timedelta(seconds=1)) is None  # another email
    assert bursts.click(1, 2, at + timedelta(seconds=2)) == at


def test_clicks_spread_over_time_are_not_a_burst():
    bursts = BurstDetector()
    at = SENT + timedelta(hours=1)

    results = [bursts.click(1, index, at + timedelta(seconds=10 * index)) for index in range(5)]

    assert results == [None] * 5

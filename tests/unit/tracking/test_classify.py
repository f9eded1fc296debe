"""Client classes: people, mail providers' proxies, email security scanners and other machines."""

import asyncio
import json
import random
import re
from datetime import UTC, datetime, timedelta
from importlib.resources import files

import pytest
from crawleruseragents import CRAWLER_USER_AGENTS_DATA
from litestar.stores.memory import MemoryStore

from tracking.bots import KNOWN_MACHINES, literal_forms, machine_token, trie_pattern
from tracking.classify import MACHINES, BurstDetector, classify_agent, classify_timing, network_hint

SENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
# Public lists of real agents, installed with the `test` extra: crawler-user-agents' instances (bots,
# crawlers, tools, libraries), fake-useragent's browser agents (real ones, weighted by how often seen).
KNOWN_BOTS = sorted({agent for entry in CRAWLER_USER_AGENTS_DATA for agent in entry.get("instances", [])})
REAL_BROWSERS = sorted(
    {
        json.loads(line)["useragent"]
        for line in files("fake_useragent").joinpath("data/browsers.jsonl").read_text(encoding="utf-8").splitlines()
    }
)
MAIL_CLIENTS = [
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook 16.0.5266; ms-office; MSOffice 16)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; WebView/3.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30 Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
    IPHONE_MAIL,
]


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
        ("click", "Proofpoint URL Defense/1.0", None, "security_scanner"),
        ("click", "Mozilla/5.0 (Windows NT 10.0) Mimecast-URL-Protect", None, "security_scanner"),
        ("click", "Mozilla/5.0 (compatible; Cisco IronPort)", None, "security_scanner"),
        ("click", "TrendMicro-URL-Scanner", None, "security_scanner"),
        ("click", "Mozilla/5.0 (compatible; Trend Micro WRS)", None, "security_scanner"),
        ("click", "Symantec MessageLabs Link Check", None, "security_scanner"),
        ("click", "Sophos URL Scanner", None, "security_scanner"),
        ("click", "Mozilla/5.0 (FireEye Email Security)", None, "security_scanner"),
        ("click", "Mozilla/5.0 (Trellix Email Security)", None, "security_scanner"),
        ("click", "Google-Safety", None, "security_scanner"),
        ("click", "Mozilla/5.0 (compatible; heritrix/3.2.0 +http://archive.example/crawler)", None, "bot"),
        ("click", "W3C-checklink/4.81 libwww-perl/6.72", None, "bot"),
        ("click", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", None, "bot"),
        ("click", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", None, "bot"),
        (
            "click",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            None,
            "bot",
        ),
        (
            "click",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36 (compatible; NewBot/0.1)",
            None,
            "bot",
        ),
        ("click", "python-requests/2.31", None, "bot"),
        ("click", "curl/8.5.0", None, "bot"),
        ("click", "Go-http-client/2.0", None, "bot"),
        ("open", "Applebot/0.1", "apple", "bot"),  # Apple's crawler, not Mail Privacy Protection
        ("click", "", None, "unknown"),
        ("open", "SomethingElse/1.0", None, "unknown"),
    ],
)
def test_the_user_agent_and_network_give_the_client_class(kind, agent, network, client_class):
    verdict = classify_agent(kind, agent, network)

    assert verdict.client_class == client_class and verdict.reason


def test_at_least_99_percent_of_known_bot_agents_are_not_counted_as_people():
    classes = [classify_agent("click", agent, None).client_class for agent in KNOWN_BOTS]

    assert len(KNOWN_BOTS) > 2000
    assert classes.count("human") <= len(KNOWN_BOTS) // 100
    assert sum(c in MACHINES for c in classes) >= 0.99 * len(KNOWN_BOTS)


def test_no_real_browser_or_mail_client_agent_is_counted_as_a_machine():
    agents = REAL_BROWSERS + MAIL_CLIENTS

    verdicts = {agent: classify_agent("click", agent, None) for agent in agents}

    assert len(REAL_BROWSERS) > 500
    assert [a for a, v in verdicts.items() if v.client_class in MACHINES] == []
    assert {v.client_class for v in verdicts.values()} == {"human"}


def test_reasons_fit_the_stored_column_and_name_what_was_recognised():
    reasons = [classify_agent("click", agent, None).reason for agent in KNOWN_BOTS]

    assert max(map(len, reasons)) <= 120
    assert classify_agent("click", "Mozilla/5.0 (compatible; SemrushBot/7~bl)", None).reason == (
        "crawler or tool user agent (SemrushBot)"
    )


def test_verdicts_are_cached_per_agent_in_a_bounded_lru():
    classify_agent.cache_clear()

    first = classify_agent("click", FIREFOX, None)
    second = classify_agent("click", FIREFOX, None)

    assert first is second and classify_agent.cache_info().hits == 1
    assert classify_agent.cache_info().maxsize == 4096


def test_the_dataset_compiles_to_matchers_that_agree_with_its_patterns():
    patterns = [re.compile(entry["pattern"]) for entry in CRAWLER_USER_AGENTS_DATA]
    agents = KNOWN_BOTS + REAL_BROWSERS + MAIL_CLIENTS + ["", "Seekbot", "x Seekbot", "SSL Labs", "SSL Labs x"]

    disagree = [a for a in agents if any(p.search(a) for p in patterns) != (KNOWN_MACHINES.search(a) is not None)]

    assert disagree == []


def test_the_pattern_shapes_compile_to_what_they_mean():
    assert literal_forms(r"Googlebot\/") == ["Googlebot/"]
    assert literal_forms("[wW]get") == ["wget", "Wget"]
    assert literal_forms("Netumo|netumo") == ["Netumo", "netumo"]
    assert literal_forms("^curl") is None and literal_forms(r"BlogTraffic\/\d") is None
    assert literal_forms("Ahrefs(Bot|SiteAudit)") == ["AhrefsBot", "AhrefsSiteAudit"]
    assert literal_forms("[0-9]x") is None and literal_forms("a(b|c)+") is None and literal_forms("a[^-]") is None
    assert trie_pattern(["abc", "abd", "ab"]) == "ab"  # `ab` alone finds all three in a search
    assert trie_pattern(["abc", "abd", "ab"], whole=True) == "ab(?:(?:c|d))?"
    assert trie_pattern(["abc", "abd", "x"]) == "(?:ab(?:c|d)|x)"
    assert machine_token("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)") == "Googlebot"
    assert machine_token(FIREFOX) is None


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


def test_timing_does_not_overwrite_what_the_agent_already_told():
    bot = classify_agent("click", "curl/8.5.0", None)

    soon = classify_timing("click", bot, SENT, SENT + timedelta(seconds=3), None)

    assert soon == bot and soon.client_class == "bot"


def test_many_links_of_one_email_within_seconds_is_a_burst():
    bursts = BurstDetector()
    at = SENT + timedelta(hours=1)

    async def clicks() -> list[datetime | None]:
        return [
            await bursts.click(1, 0, at),
            await bursts.click(1, 1, at + timedelta(seconds=1)),
            await bursts.click(2, 2, at + timedelta(seconds=1)),  # another email
            await bursts.click(1, 2, at + timedelta(seconds=2)),
        ]

    assert asyncio.run(clicks()) == [None, None, None, at]


def test_clicks_spread_over_time_are_not_a_burst():
    bursts = BurstDetector()
    at = SENT + timedelta(hours=1)

    async def clicks() -> list[datetime | None]:
        return [await bursts.click(1, index, at + timedelta(seconds=10 * index)) for index in range(5)]

    assert asyncio.run(clicks()) == [None] * 5


def test_a_burst_spread_over_two_workers_sharing_a_store_is_one_burst():
    store = MemoryStore()  # what two workers share through Redis (tests/integration/test_shared_stores.py)
    first, second = BurstDetector(store), BurstDetector(store)
    at = SENT + timedelta(hours=1)

    async def clicks() -> list[datetime | None]:
        return [
            await first.click(7, 0, at),
            await second.click(7, 1, at + timedelta(seconds=1)),
            await first.click(7, 2, at + timedelta(seconds=1)),
        ]

    assert asyncio.run(clicks()) == [None, None, at]
    assert asyncio.run(BurstDetector().click(7, 3, at)) is None  # a store of its own knows nothing of them


def test_a_batch_of_clicks_gets_what_one_click_at_a_time_gets_with_one_store_read_and_write_per_email():
    at = SENT + timedelta(hours=1)
    rng = random.Random(7)
    clicks = sorted(
        ((rng.choice([1, 2, 3]), rng.randrange(6), at + timedelta(seconds=rng.randrange(120))) for _ in range(300)),
        key=lambda click: click[2],
    )
    one_at_a_time, batched = BurstDetector(), BurstDetector(CountingStore())

    async def run() -> tuple[list[datetime | None], list[datetime | None]]:
        singles = [await one_at_a_time.click(*click) for click in clicks]
        return singles, await batched.clicks(clicks)

    singles, batch = asyncio.run(run())

    assert batch == singles and any(start is not None for start in batch)
    assert batched.store.calls == {"get": 3, "set": 3}


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls = {"get": 0, "set": 0}

    async def get(self, key, renew_for=None):
        self.calls["get"] += 1
        return await super().get(key, renew_for)

    async def set(self, key, value, expires_in=None):
        self.calls["set"] += 1
        return await super().set(key, value, expires_in)

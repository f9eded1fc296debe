"""The vendor table: host patterns, lookalikes, and which vendors a policy's words rule out."""

from __future__ import annotations

import pytest

from governance.enforcement.audit.vendors import default_vendors, parse_vendors
from policy_docs.seed import load_seed


@pytest.mark.parametrize(
    ("url", "vendor"),
    [
        ("https://www.google-analytics.com/g/collect?v=2", "google-analytics"),
        ("https://region1.analytics.google.com/g/collect", "google-analytics"),
        ("https://www.googletagmanager.com/gtag/js?id=G-ABC123", "google-analytics"),
        ("https://www.googletagmanager.com/gtag/js?l=dataLayer&id=AW-99", "google-ads"),
        ("https://googleads.g.doubleclick.net/pagead/viewthroughconversion/1/", "google-ads"),
        ("https://www.google.com/pagead/1p-conversion/1/", "google-ads"),
        ("https://api-js.mixpanel.com/track/", "mixpanel"),
        ("https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js", "mixpanel"),
        ("https://api2.amplitude.com/2/httpapi", "amplitude"),
        ("https://connect.facebook.net/en_US/fbevents.js", "facebook-pixel"),
        ("https://www.facebook.com/tr?id=1&ev=PageView", "facebook-pixel"),
        ("https://www.facebook.com/tr/?id=1", "facebook-pixel"),
        ("wss://ws.hotjar.com/api/v2/client/ws", "hotjar"),
        ("https://content.hotjar.io/x", "hotjar"),
        ("https://rs.fullstory.com/rec/bundle", "fullstory"),
        # lookalikes and neighbours are not the vendor
        ("https://evilgoogle-analytics.com/collect", None),
        ("https://google-analytics.com.evil.net/collect", None),
        ("https://www.facebook.com/translate", None),
        ("https://www.googletagmanager.com/gtag/js?id=GT-1", None),
        ("https://www.google.com/search?q=pagead", None),
        ("https://fullstory.example/rec", None),
    ],
)
def test_requests_are_matched_to_vendors_by_the_documented_hosts(url, vendor):
    found = default_vendors().vendor_for(url)
    assert (found.id if found else None) == vendor


def test_the_seed_policy_rules_out_every_vendor_in_the_table():
    table = default_vendors()
    promised = table.promised_absent(load_seed().content.not_used)

    assert promised.keys() == {v.id for v in table.vendors}
    assert promised["google-ads"].startswith("Facebook Pixel, Google Ads tags")
    assert promised["fullstory"].startswith("Hotjar, FullStory")


def test_a_category_phrase_rules_out_the_whole_category_and_only_it():
    promised = default_vendors().promised_absent(["any session recording tools"])

    assert set(promised) == {"hotjar", "fullstory"}
    assert default_vendors().promised_absent(["We love Google Analyticsish tools"]) == {}  # whole words only


def test_every_vendor_says_where_its_hosts_come_from():
    for vendor in default_vendors().vendors:
        assert vendor.source.startswith("https://") and vendor.patterns, vendor.id


def test_a_vendor_of_an_unknown_category_is_rejected():
    with pytest.raises(ValueError, match="unknown categories"):
        parse_vendors(
            {
                "vendors": [
                    {"id": "x", "name": "X", "category": "psychic", "patterns": ["x.example"], "source": "https://x"}
                ]
            }
        )

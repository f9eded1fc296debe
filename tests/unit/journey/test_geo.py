import pytest

from governance.core.proxies import scope_client
from tracking.journey.geo import coarse_geo, trusted_networks

PROXIES = ("10.0.0.0/8", "2001:db8::1")
HEADERS = {"cf-ipcountry": "in", "x-vercel-ip-country-region": "MH"}


def test_geo_headers_from_a_trusted_proxy_are_read():
    assert coarse_geo("10.1.2.3", HEADERS, PROXIES) == ("IN", "MH")
    assert coarse_geo("2001:db8::1", {"cloudfront-viewer-country": "DE"}, PROXIES) == ("DE", None)


def test_geo_headers_from_anyone_else_are_ignored():
    assert coarse_geo("203.0.113.9", HEADERS, PROXIES) == (None, None)
    assert coarse_geo("10.1.2.3", HEADERS, ()) == (None, None)
    assert coarse_geo(None, HEADERS, PROXIES) == (None, None)
    assert coarse_geo("testclient", HEADERS, PROXIES) == (None, None)


@pytest.mark.parametrize("value", ["XX", "T1", "IND", "1N", "", "<script>"])
def test_unknown_or_malformed_countries_are_dropped(value):
    assert coarse_geo("10.0.0.1", {"cf-ipcountry": value, "x-vercel-ip-country-region": "MH"}, PROXIES) == (None, None)


def test_a_malformed_trusted_proxy_setting_fails_loudly():
    with pytest.raises(ValueError, match="MS_TRUSTED_PROXIES"):
        trusted_networks(("10.0.0.0/33",))


def test_rate_limit_identity_is_the_forwarded_client_only_behind_a_trusted_proxy():
    headers = [(b"user-agent", b"x"), (b"x-forwarded-for", b"198.51.100.1, 192.0.2.44")]
    networks = trusted_networks(PROXIES)
    assert scope_client({"client": ("10.0.0.5", 1), "headers": headers}, networks) == "192.0.2.44"
    assert scope_client({"client": ("203.0.113.9", 1), "headers": headers}, networks) == "203.0.113.9"
    assert scope_client({"client": ("10.0.0.5", 1), "headers": headers}, ()) == "10.0.0.5"
    assert scope_client({"client": ("10.0.0.5", 1), "headers": []}, networks) == "10.0.0.5"

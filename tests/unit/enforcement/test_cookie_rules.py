"""Whether a Set-Cookie agrees with its declaration."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from governance.enforcement.cookies import mismatches, parse_set_cookie
from policy_docs.schemas import Duration
from tests.unit.enforcement.declarations import cookie

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()
ACCESS = cookie("ms_access", http_only=True, same_site="lax", path="/")
GOOD = "ms_access=jwt; Max-Age=2592000; Path=/; SameSite=Lax; HttpOnly"


def reasons(header: str, declaration=ACCESS, require_secure: bool = False) -> list[str]:
    return [
        reason
        for reason, _ in mismatches(declaration, parse_set_cookie(header), now=NOW, require_secure=require_secure)
    ]


def expires_in(delta: timedelta) -> str:
    return format_datetime(datetime.fromtimestamp(NOW, UTC) + delta, usegmt=True)


def test_a_cookie_exactly_as_declared_is_compliant():
    assert reasons(GOOD) == []


def test_parsing_keeps_the_name_and_lowercases_attribute_names():
    parsed = parse_set_cookie("ms_csrf=a=b; PATH=/x; Secure")
    assert parsed.name == "ms_csrf" and parsed.attributes == {"path": "/x", "secure": ""}


def test_missing_httponly_on_a_declared_httponly_cookie_is_a_mismatch():
    assert reasons("ms_access=jwt; Max-Age=2592000; Path=/; SameSite=Lax") == ["http_only"]


def test_httponly_on_a_cookie_declared_readable_is_a_mismatch():
    readable = cookie("ms_csrf", http_only=False)
    assert reasons("ms_csrf=t; HttpOnly", readable) == ["http_only"]


def test_ninety_days_against_a_thirty_day_declaration_is_too_long():
    assert reasons(GOOD.replace("2592000", str(90 * 24 * 3600))) == ["duration"]


def test_an_expires_date_beyond_the_declared_duration_is_too_long():
    header = f"ms_access=jwt; Expires={expires_in(timedelta(days=90))}; Path=/; SameSite=Lax; HttpOnly"
    assert reasons(header) == ["duration"]


def test_an_expires_date_within_the_declared_duration_passes():
    header = f"ms_access=jwt; Expires={expires_in(timedelta(days=30))}; Path=/; SameSite=Lax; HttpOnly"
    assert reasons(header) == []


def test_a_session_cookie_is_always_shorter_than_a_declared_duration():
    assert reasons("ms_access=jwt; Path=/; SameSite=Lax; HttpOnly") == []


def test_a_persistent_cookie_declared_as_a_session_cookie_is_a_mismatch():
    session_only = cookie("s", duration=Duration(kind="session", text="session"))
    assert reasons("s=1; Max-Age=60", session_only) == ["duration"]


def test_secure_is_required_when_the_deployment_requires_it():
    assert reasons(GOOD, require_secure=True) == ["secure"]
    assert reasons(GOOD + "; Secure", require_secure=True) == []


def test_secure_is_required_when_declared():
    assert reasons(GOOD, cookie("ms_access", secure=True)) == ["secure"]


def test_samesite_domain_and_path_must_be_as_declared():
    pinned = cookie("p", same_site="strict", domain="mailssetu.in", path="/app")
    assert reasons("p=1; SameSite=Lax; Domain=other.in; Path=/", pinned) == ["same_site", "domain", "path"]
    assert reasons("p=1; SameSite=Strict; Domain=.mailssetu.in; Path=/app", pinned) == []


def test_max_age_zero_and_past_expires_are_deletions():
    assert parse_set_cookie("ms_access=; Max-Age=0").is_deletion(NOW)
    assert parse_set_cookie(f"x=; Expires={expires_in(timedelta(days=-1))}").is_deletion(NOW)
    assert not parse_set_cookie(GOOD).is_deletion(NOW)


@pytest.mark.parametrize("max_age", ["+0", " 0x", "0_0", "\u0660", "\xa00", "0.0", "-", ""])
def test_a_max_age_a_browser_ignores_is_not_a_deletion(max_age):
    cookie = parse_set_cookie(f"tracker=1; Max-Age={max_age}")
    assert cookie.max_age() is None and not cookie.is_deletion(NOW) and cookie.lifetime(NOW) is None


@pytest.mark.parametrize("max_age", ["0", "-1", "-99999999999999999999", "00"])
def test_a_zero_or_negative_max_age_is_a_deletion(max_age):
    assert parse_set_cookie(f"tracker=; Max-Age={max_age}").is_deletion(NOW)


@pytest.mark.parametrize(
    "expires",
    [
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Thursday, 01-Jan-70 00:00:01 GMT",  # RFC 850: a two-digit year after 69 is 19xx
        "Jan 1 00:00:00 1971",  # asctime
        "1 jan 2001 12:00:00",
    ],
)
def test_a_past_expires_a_browser_reads_is_a_deletion(expires):
    assert parse_set_cookie(f"tracker=; Expires={expires}").is_deletion(NOW)


@pytest.mark.parametrize(
    "expires",
    [
        "Thu, 01 Jan 1970",  # no time: browsers ignore the date
        "Thu, 31 Feb 2001 00:00:00 GMT",  # no such day
        "Thu, 01 Jan 1600 00:00:00 GMT",  # before 1601
        "Thu, 01 Jan 2001 24:00:00 GMT",
        "yesterday",
    ],
)
def test_an_expires_a_browser_cannot_read_leaves_a_session_cookie(expires):
    cookie = parse_set_cookie(f"tracker=1; Expires={expires}")
    assert not cookie.is_deletion(NOW) and cookie.lifetime(NOW) is None


def test_a_valid_max_age_wins_over_expires_and_an_invalid_one_does_not():
    past = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert not parse_set_cookie(f"t=1; Max-Age=60; Expires={past}").is_deletion(NOW)
    assert parse_set_cookie(f"t=1; Max-Age=+60; Expires={past}").is_deletion(NOW)


def test_names_are_split_and_trimmed_as_browsers_do():
    assert parse_set_cookie("ms_csrf").name == ""  # no `=`: the whole pair is the value of a nameless cookie
    assert parse_set_cookie("=ms_csrf").name == ""
    assert parse_set_cookie(" \tms_csrf \t=1").name == "ms_csrf"
    assert parse_set_cookie("ms_csrf\xa0=1").name == "ms_csrf\xa0"  # U+00A0 is kept: another name
    assert parse_set_cookie("t=1; Max-Age=\xa00").max_age() is None

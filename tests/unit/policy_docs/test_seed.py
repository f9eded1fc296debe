"""The seed data files describe what the service really sets."""

from datetime import UTC, date, datetime

from auth.security import session_cookies
from governance.core.settings import Settings
from policy_docs.seed import load_seed

SEED = load_seed()


def test_version_one_dates():
    assert SEED.effective_from == datetime(2026, 4, 17, tzinfo=UTC)
    assert SEED.last_updated == date(2026, 5, 10)


def test_declared_session_cookies_match_what_login_sets():
    declared = {d.name: d for d in SEED.content.declarations if d.kind == "cookie"}
    for cookie in session_cookies(Settings(cookie_secure=True), "jwt", "csrf"):
        declaration = declared[cookie.key]
        assert declaration.http_only == cookie.httponly
        assert declaration.same_site == cookie.samesite
        assert declaration.path == cookie.path
        assert declaration.duration.seconds == cookie.max_age
        assert declaration.secure is None  # not pinned: MS_COOKIE_SECURE decides


def test_storage_keys_and_next_locale():
    by_name = {d.name: d for d in SEED.content.declarations}
    assert by_name["__next_locale"].duration.seconds == 365 * 24 * 3600
    assert {n for n, d in by_name.items() if d.kind == "local_storage"} == {
        "ms_journey_visitor_id",
        "ms_journey_session_id",
        "ms_journey_first_touch",
        "ms_token",  # token-in-body mode only (requires = "token_in_body")
    }
    assert by_name["ms_journey_visitor_id"].duration.kind == "persistent"


def test_the_legacy_bearer_token_is_declared_only_for_token_in_body_mode():
    tokens = [d for d in SEED.content.declarations if "bearer" in d.name.lower() or "token" in d.name.lower()]
    assert [(d.kind, d.name, d.requires) for d in tokens] == [("local_storage", "ms_token", "token_in_body")]

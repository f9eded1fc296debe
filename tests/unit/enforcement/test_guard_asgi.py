"""The Set-Cookie guard around a plain ASGI app (any ASGI app, not only ours)."""

import asyncio

import pytest

from governance.enforcement import guard_asgi, static_source
from governance.enforcement.guard import CookieGuard
from tests.unit.enforcement.declarations import SEED

DECLARED = b"ms_access=jwt; Max-Age=2592000; Path=/; SameSite=Lax; HttpOnly"
UNDECLARED = b"evil=1; Path=/"
NO_HTTPONLY = b"ms_access=jwt; Max-Age=2592000; Path=/; SameSite=Lax"
TOO_LONG = b"ms_access=jwt; Max-Age=7776000; Path=/; SameSite=Lax; HttpOnly"
DELETION = b"ms_csrf=; Max-Age=0; Path=/; SameSite=Lax"


def app_setting(*cookies: bytes):
    async def app(scope, receive, send):
        headers = [(b"content-type", b"text/plain")] + [(b"set-cookie", c) for c in cookies]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def call(app) -> list[bytes]:
    """Run one GET through `app`; returns the Set-Cookie values that left it."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/page", "headers": [(b"user-agent", b"pytest")]}
    asyncio.run(app(scope, receive, send))
    return [value for name, value in sent[0]["headers"] if name == b"set-cookie"]


def guarded(mode: str, *cookies: bytes, require_secure: bool = False):
    found = []
    app = guard_asgi(
        app_setting(*cookies),
        static_source(SEED, number=3),
        mode=mode,
        require_secure=require_secure,
        on_violation=found.append,
    )
    return call(app), found


def test_enforce_strips_an_undeclared_cookie_and_reports_it():
    passed, found = guarded("enforce", DECLARED, UNDECLARED)

    assert passed == [DECLARED]
    assert [(v.name, v.reason, v.mode, v.source, v.page, v.policy_version) for v in found] == [
        ("evil", "undeclared", "enforce", "server", "/page", 3)
    ]


def test_enforce_strips_a_declared_cookie_without_httponly():
    passed, found = guarded("enforce", NO_HTTPONLY)
    assert passed == [] and [v.reason for v in found] == ["http_only"]


def test_enforce_strips_a_cookie_living_longer_than_declared():
    passed, found = guarded("enforce", TOO_LONG)
    assert passed == [] and [v.reason for v in found] == ["duration"]


def test_report_mode_passes_non_compliant_cookies_and_reports_them():
    passed, found = guarded("report", UNDECLARED, NO_HTTPONLY, TOO_LONG)
    assert passed == [UNDECLARED, NO_HTTPONLY, TOO_LONG]
    assert [(v.reason, v.mode) for v in found] == [
        ("undeclared", "report"),
        ("http_only", "report"),
        ("duration", "report"),
    ]


def test_deletions_of_declared_cookies_always_pass():
    passed, found = guarded("enforce", DELETION, require_secure=True)
    assert passed == [DELETION] and found == []


def test_a_deployment_requiring_secure_strips_cookies_without_it():
    passed, found = guarded("enforce", DECLARED, DECLARED + b"; Secure", require_secure=True)
    assert passed == [DECLARED + b"; Secure"] and [v.reason for v in found] == ["secure"]


def test_off_mode_leaves_the_app_unwrapped():
    app = app_setting(UNDECLARED)
    assert guard_asgi(app, static_source(SEED), mode="off") is app


def test_without_a_policy_in_force_nothing_is_stripped():
    async def nothing_in_force():
        return None

    found = []
    app = guard_asgi(app_setting(UNDECLARED), nothing_in_force, on_violation=found.append)
    assert call(app) == [UNDECLARED] and found == []


def test_other_headers_and_the_body_are_untouched():
    app = guard_asgi(app_setting(UNDECLARED), static_source(SEED), on_violation=lambda v: None)
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    asyncio.run(app({"type": "http", "path": "/", "headers": []}, receive, send))
    assert sent[0]["headers"] == [(b"content-type", b"text/plain")] and sent[1]["body"] == b"ok"


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        CookieGuard(static_source(SEED), mode="strict")


def test_prefix_declarations_cover_names_starting_with_them():
    from governance.enforcement.allowlist import CompiledAllowlist

    storage = CompiledAllowlist(SEED, "local_storage")
    assert storage.find("ms_journey_visitor_id").name == "ms_journey_"
    assert storage.find("evil") is None


def test_a_websocket_handshake_setting_an_undeclared_cookie_is_guarded_too():
    async def websocket_app(scope, receive, send):
        await send({"type": "websocket.accept", "headers": [(b"set-cookie", UNDECLARED)]})

    sent, found = [], []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "websocket.connect"}

    app = guard_asgi(websocket_app, static_source(SEED), on_violation=found.append)
    asyncio.run(app({"type": "websocket", "path": "/ws", "headers": []}, receive, send))
    assert sent[0]["headers"] == [] and [v.name for v in found] == ["evil"]


@pytest.mark.parametrize(
    "disguised",
    [
        b"evil=1; Max-Age=+0",  # browsers ignore `+0`: a session cookie, not a deletion
        b"evil=1; Max-Age=\xa00",
        b"evil=1; Expires=Thu, 01 Jan 1970",  # no time: ignored, a session cookie
        b"ms_csrf",  # no `=`: a nameless cookie whose value is `ms_csrf`
        b"ms_csrf\xa0=1; Path=/; SameSite=Lax",  # another name than the declared one
    ],
)
def test_a_cookie_that_only_looks_like_a_deletion_or_a_declared_name_is_stripped(disguised):
    passed, found = guarded("enforce", DECLARED, disguised)

    assert passed == [DECLARED] and [v.reason for v in found] == ["undeclared"]


def test_a_verdict_cached_for_a_name_is_not_reused_for_a_nameless_cookie():
    declared_csrf = b"ms_csrf=abc; Path=/; SameSite=Lax"
    nameless = b"ms_csrf; Path=/; SameSite=Lax"  # the same attributes: a verdict cached by them must not apply
    app = guard_asgi(app_setting(declared_csrf, nameless), static_source(SEED, number=3), mode="enforce")

    assert call(app) == [declared_csrf]

"""Cookies arriving with requests: page code can set cookies the server never sent, so every
Cookie request header is checked against the declarations (through `guard_asgi` as in our app)."""

import asyncio

import pytest

from governance.enforcement import guard_asgi, static_source
from governance.enforcement.guard import MAX_REPORTED_NAMES
from tests.unit.enforcement.declarations import SEED, cookie

SECRET = "s3cr3t-value-never-stored"


def ok_app():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def visit(app, *cookie_headers: bytes, path: str = "/page", scope_type: str = "http") -> None:
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    headers = [(b"user-agent", b"pytest"), *((b"cookie", value) for value in cookie_headers)]
    asyncio.run(app({"type": scope_type, "method": "GET", "path": path, "headers": headers}, receive, send))


def guarded(mode: str = "enforce", source=None, **options):
    found = []
    app = guard_asgi(ok_app(), source or static_source(SEED, number=4), mode=mode, on_violation=found.append, **options)
    return app, found


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_an_undeclared_cookie_arriving_is_reported_once_per_name_without_its_value(mode):
    app, found = guarded(mode)

    for _ in range(3):
        visit(app, f"ms_access=jwt; tracker={SECRET}; ms_journey_x=1".encode())
    visit(app, b"tracker=other-value; ms_csrf=c")

    assert [(v.source, v.kind, v.name, v.reason, v.mode, v.page, v.policy_version) for v in found] == [
        ("request", "cookie", "tracker", "undeclared", "report", "/page", 4),
        ("request", "cookie", "ms_journey_x", "undeclared", "report", "/page", 4),  # declared as storage only
    ]  # ms_access and ms_csrf (declared cookies) are the positive control
    assert all(SECRET not in field for v in found for field in (v.name, v.detail, v.page, v.user_agent))
    assert "Cookie header" in found[0].detail and found[0].user_agent == "pytest"


def test_every_undeclared_name_is_reported_and_declared_ones_never():
    app, found = guarded()

    visit(app, b"a=1; ms_access=2; b=3", b"__next_locale=en; c=4")  # HTTP/2 may send several Cookie headers

    assert sorted(v.name for v in found) == ["a", "b", "c"]


def test_a_cookie_without_a_name_is_reported_as_nameless():
    app, found = guarded()

    visit(app, b"ms_access=jwt; justavalue")

    assert [(v.name, "without a name" in v.detail) for v in found] == [("", True)]


def test_a_new_policy_version_reports_names_again():
    versions = [static_source(SEED, number=1), static_source([*SEED, cookie("extra", http_only=False)], number=2)]
    current = {"source": versions[0]}

    async def source():
        return await current["source"]()

    app, found = guarded(source=source)
    visit(app, b"tracker=1; extra=1")
    visit(app, b"tracker=1; extra=1")
    current["source"] = versions[1]
    visit(app, b"tracker=1; extra=1")

    assert [(v.name, v.policy_version) for v in found] == [("tracker", 1), ("extra", 1), ("tracker", 2)]


def test_skipped_paths_and_off_mode_observe_nothing():
    app, found = guarded(skip_request_paths=("/t/",))
    visit(app, b"tracker=1", path="/t/o/token.gif")
    assert found == []
    visit(app, b"tracker=1", path="/elsewhere")  # the same cookie on another path: the positive control
    assert [v.name for v in found] == ["tracker"]

    off, nothing = guarded("off")
    visit(off, b"tracker=1")
    assert nothing == []


def test_request_observation_can_be_turned_off_while_set_cookie_is_still_guarded():
    app, found = guarded(observe_requests=False)

    visit(app, b"tracker=1")

    assert found == []


def test_websocket_handshakes_are_observed_too():
    async def websocket_app(scope, receive, send):
        await send({"type": "websocket.accept", "headers": []})

    found = []
    app = guard_asgi(websocket_app, static_source(SEED), on_violation=found.append)
    visit(app, b"ws_tracker=1", scope_type="websocket")

    assert [v.name for v in found] == ["ws_tracker"]


def test_names_reported_per_version_are_bounded_as_clients_choose_them():
    app, found = guarded()

    for batch in range(MAX_REPORTED_NAMES // 100 + 2):
        visit(app, "; ".join(f"junk{batch}_{i}=1" for i in range(100)).encode())

    assert len(found) == MAX_REPORTED_NAMES

"""An app with test routes that set cookies in every way a response can: handler, error, middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar, Response, get
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.testing import TestClient

from governance.app import create_app
from governance.enforcement import service
from governance.enforcement.plugin import WRITER_STATE_KEY
from tests.conftest import Database, base_settings
from tests.integration.journey.conftest import client_via  # noqa: F401  (a fixture: a client from a chosen peer)

THIRTY_DAYS = 30 * 24 * 3600


def _lax(key: str, **extra: Any) -> Cookie:
    values: dict[str, Any] = {"key": key, "value": "v", "path": "/", "samesite": "lax", "max_age": THIRTY_DAYS}
    values.update(extra)
    return Cookie(**values)


@get("/test/undeclared", exclude_from_auth=True, sync_to_thread=False)
def undeclared() -> Response[str]:
    return Response("ok", cookies=[_lax("ms_access", httponly=True), _lax("evil")])


@get("/test/no-httponly", exclude_from_auth=True, sync_to_thread=False)
def no_httponly() -> Response[str]:
    return Response("ok", cookies=[_lax("ms_access")])


@get("/test/too-long", exclude_from_auth=True, sync_to_thread=False)
def too_long() -> Response[str]:
    return Response("ok", cookies=[_lax("ms_access", httponly=True, max_age=90 * 24 * 3600)])


@get("/test/deletion", exclude_from_auth=True, sync_to_thread=False)
def deletion() -> Response[str]:
    return Response("ok", cookies=[_lax("ms_access", httponly=False, max_age=0, samesite="strict")])


@get("/test/error", exclude_from_auth=True, sync_to_thread=False)
def error() -> None:
    raise HTTPException(status_code=418, detail="teapot", headers={"Set-Cookie": "evil_on_error=1; Path=/"})


def _sets_a_cookie(app: Any) -> Any:
    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        async def add_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", "evil_from_middleware=1; Path=/")
            await send(message)

        await app(scope, receive, add_cookie)

    return middleware


@get("/test/middleware", exclude_from_auth=True, sync_to_thread=False, middleware=[_sets_a_cookie])
def via_middleware() -> str:
    return "ok"


TEST_ROUTES = [undeclared, no_httponly, too_long, deletion, error, via_middleware]


def app_with_test_routes(db: Database, **settings: Any) -> Litestar:
    app = create_app(base_settings(db.url, **settings))
    for route in TEST_ROUTES:
        app.register(route)
    return app


@pytest.fixture
def guarded(db: Database) -> Iterator[Callable[..., TestClient]]:
    """`guarded(cookie_guard_mode="report")`: a started client on the app with the test routes."""
    stack = []

    def start(**settings: Any) -> TestClient:
        client = TestClient(app_with_test_routes(db, **settings), base_url="http://testserver.local")
        stack.append(client.__enter__())
        return client

    yield start
    for client in stack:
        client.__exit__(None, None, None)


def recorded(client: TestClient, db: Database) -> list[Any]:
    """The violations recorded so far (after the recorder has written its queue)."""
    client.blocking_portal.call(client.app.state[WRITER_STATE_KEY].flush)
    return db.run(service.list_violations)


def set_cookie_names(response: Any) -> list[str]:
    return [header.split("=", 1)[0] for header in response.headers.get_list("set-cookie")]

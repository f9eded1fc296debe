"""A request body must arrive within `MS_BODY_TIMEOUT_SECONDS`: a client that sends it slowly gets a
408 instead of holding a worker (and whatever the request holds) for as long as it likes.

Only the body is timed, from the first byte the app asks for to the last; the wait for a disconnect
after it is untouched, and GET/HEAD/OPTIONS (the tracking routes) are passed straight through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from litestar.enums import ScopeType

from governance.core.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send


BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})  # no handler of this app reads a body on these


class RequestTimeout(DomainError):
    """The request body did not arrive in time."""

    status = 408


def body_deadline(seconds: float) -> Callable[[ASGIApp], ASGIApp]:
    """Litestar middleware (a factory of ASGI apps) bounding how long a request body may take."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope["method"] in BODILESS:  # the tracking routes: no wrapper
                await app(scope, receive, send)
                return
            deadline: float | None = None
            complete = False

            async def receive_in_time() -> ReceiveMessage:
                nonlocal deadline, complete
                if complete:
                    return await receive()
                deadline = deadline or anyio.current_time() + seconds
                with anyio.move_on_after(deadline - anyio.current_time()):
                    message = await receive()
                    complete = message["type"] != "http.request" or not message.get("more_body", False)
                    return message
                raise RequestTimeout(f"the request body did not arrive within {seconds:g} s")

            await app(scope, receive_in_time, send)

        return bounded

    return middleware

"""The one error model: services raise these, the app maps them once (governance/core/problems.py).

A service says what went wrong in a sentence a user can act on; it never builds an HTTP response.
Each class carries its status, so the mapping is a lookup, not a list of cases:

    raise NotFound("no such sending domain")
    raise Invalid("the draft cannot be published", errors=[FieldError("sections[2].body", "is empty")])
    raise Busy("too many failed sign-ins; try again later", retry_after=900)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One problem with one part of the input: `field` names it as a client would (`events[2].url`)."""

    field: str | None
    detail: str


class DomainError(Exception):
    """A rule refused the request. The message is safe to show to the caller."""

    status: ClassVar[int] = 400
    status_code: ClassVar[int] = 400

    def __init__(
        self, detail: str, *, errors: Sequence[FieldError] = (), headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The status under the name Litestar's logging reads off the exception's class: client errors
        # then log one line without a stack trace (`disable_stack_trace`).
        cls.status_code = cls.status


class BadRequest(DomainError):
    """The input does not parse, or is out of range (a malformed instant, an unknown filter value)."""

    status = 400


class UnsupportedMediaType(DomainError):
    """The body is not of the media type the route takes."""

    status = 415


class Unauthorized(DomainError):
    """Not signed in, or the credentials are wrong."""

    status = 401


class Forbidden(DomainError):
    """Signed in, but this principal may not do this."""

    status = 403


class NotFound(DomainError):
    """No such thing, or not one this principal may see (other accounts' resources are a 404, not a 403)."""

    status = 404


class Conflict(DomainError):
    """The request clashes with the current state: taken, published, stale revision, already running."""

    status = 409


class Invalid(DomainError):
    """Well-formed input that breaks a rule; `errors` lists every problem with the field it concerns."""

    status = 422


class Busy(DomainError):
    """Try again later: a limit stands in the way. Answered 429 with Retry-After."""

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after

"""Errors as HTTP, mapped once for the whole app: RFC 9457 problem details, or a short HTML page.

Litestar's ProblemDetailsPlugin does the wiring; this module says how each kind of exception
becomes a problem. Every 4xx of the JSON API then has one shape:

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "the draft cannot be published: 2 problems",
     "errors": [{"field": "declarations[3].duration", "detail": "..."}]}

Routes that answer HTML (the public policy pages, the console) set `opt=HTML_ERRORS` and get the
same facts as a small page instead. Unexpected exceptions are a 500 that says nothing about them
(the log has the traceback).
"""

from __future__ import annotations

import html
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException, ProblemDetailsPlugin
from litestar.response import Response

from governance.core.errors import DomainError, FieldError

if TYPE_CHECKING:
    from litestar.connection import Request

PROBLEM_JSON = "application/problem+json"
HTML_ERRORS = {"errors": "html"}  # a route's `opt`: answer errors with a page, not JSON
# A route's `opt` may also name the page to answer (`{"errors": "html", ERROR_PAGE_OPT: render}`, with
# `render(request, problem) -> Response`): the console shows its errors as console pages.
ERROR_PAGE_OPT = "error_page"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
ERROR_PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2933}}
h1{{font-size:1.5rem}}li{{margin:.25rem 0}}</style>
<main><h1>{title}</h1><p>{detail}</p>{errors}<p><a href="/">Back to the start</a></p></main>
"""


class Problem(ProblemDetailsException):
    """A problem detail that can also show itself as an HTML page."""

    def __init__(self, status: int, detail: str, *, errors: list[FieldError], headers: dict[str, str]) -> None:
        extra = {"errors": [{"field": e.field, "detail": e.detail} for e in errors]} if errors else None
        super().__init__(
            status_code=status, detail=detail, headers=headers, extra=extra, type_="about:blank", title=title_of(status)
        )
        self.errors = errors

    def to_response(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if wants_html(request):
            handler = request.scope.get("route_handler")
            render = handler.opt.get(ERROR_PAGE_OPT) if handler is not None else None
            return render(request, self) if render is not None else self._page()
        response = super().to_response(request)
        response.media_type = PROBLEM_JSON
        return response

    def _page(self) -> Response[str]:
        items = "".join(
            f"<li>{html.escape(e.field + ': ' if e.field else '')}{html.escape(e.detail)}</li>" for e in self.errors
        )
        body = ERROR_PAGE.format(
            status=self.status_code,
            title=html.escape(self.title or ""),
            detail=html.escape(self.detail),
            errors=f"<ul>{items}</ul>" if items else "",
        )
        return Response(
            body,
            status_code=self.status_code,
            media_type="text/html; charset=utf-8",
            headers={**PAGE_HEADERS, **(self.headers or {})},
        )


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """HTML routes say so in their `opt`; an unrouted path (a 404 or 405) follows the Accept header."""
    handler = request.scope.get("route_handler")
    if handler is not None and getattr(handler, "opt", None):
        return handler.opt.get("errors") == "html"
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")


def from_domain_error(exc: DomainError) -> Problem:
    return Problem(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)


UNKNOWN_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]*)`")  # the field msgspec names


def _field_error(item: dict[str, Any]) -> FieldError:
    """Litestar's `{message, key, source}`; for an unknown (or missing) field, the field is that one (the typo)."""
    message, key = str(item.get("message", "")), str(item.get("key") or "")
    if key == "data" and item.get("source") == "body":  # Litestar's name for the body's root, not a field
        key = ""
    if unknown := UNKNOWN_FIELD.search(message):
        key = f"{key}.{unknown[1]}" if key else unknown[1]
    return FieldError(field=key or None, detail=message)


def from_http_exception(exc: HTTPException) -> Problem:
    """Litestar's own errors; its validation errors list `{message, key, source}`, which become `errors`."""
    items = exc.extra if isinstance(exc.extra, list) else []
    errors = [_field_error(item) for item in items if isinstance(item, dict)]
    detail = exc.detail if exc.detail != title_of(exc.status_code) else _default_detail(exc.status_code)
    if errors:  # "Validation failed for POST /api/x" names no field: say which, as `errors` does
        detail = "; ".join(f"{e.field}: {e.detail}" if e.field else e.detail for e in errors)
    return Problem(exc.status_code, detail, errors=errors, headers=exc.headers or {})


def from_unexpected(_: Exception) -> Problem:
    return Problem(500, "something went wrong on our side; it has been logged", errors=[], headers={})


def _default_detail(status: int) -> str:
    try:
        return HTTPStatus(status).description
    except ValueError:
        return ""


class ProblemBody(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, as every error of the JSON API is answered."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None  # validation: every problem with the field it names


WHEN = {
    400: "The request does not match the schema (a wrong type, a missing or unknown field); `errors` names each",
    401: "Not signed in, or the credentials are wrong",
    403: "Signed in, but not allowed (a role is missing, or the CSRF token is wrong)",
    404: "No such resource (or not one of this account's)",
    409: "The request clashes with the current state",
    413: "The request body is too large",
    422: "The input breaks a rule; `errors` lists every problem with its field",
    429: "Too many requests; wait for `Retry-After` seconds",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the errors a route answers, all with the problem-details body."""
    return {
        status: ResponseSpec(data_container=ProblemBody, description=WHEN[status], media_type=PROBLEM_JSON)
        for status in statuses
    }


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                DomainError: from_domain_error,
                HTTPException: from_http_exception,
                Exception: from_unexpected,
            }
        )
    )

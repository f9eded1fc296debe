"""HTML of the public pages: Jinja2 (through Litestar's TemplateConfig) and markdown-it-py.

Pages are rendered once per (version, version in force) and kept as bytes with their ETag,
so serving one is a dictionary lookup plus a header comparison.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine as Engine
from litestar.template.config import TemplateConfig
from litestar.types import Receive, Scope, Send
from markdown_it import MarkdownIt
from markupsafe import Markup

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
CSS = (HERE / "static" / "policy.css").read_text(encoding="utf-8")
# Only our inline stylesheet may apply: no scripts, no third-party anything.
CSP = (
    f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HTML = "text/html; charset=utf-8"
_markdown = MarkdownIt("commonmark", {"html": False})  # raw HTML in prose is shown as text, never run


def long_date(value: date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def instant(value: datetime) -> str:
    """The date as "April 17, 2026", with the time when a version starts at any other moment than midnight UTC."""
    text = long_date(value)
    return text if (value.hour, value.minute) == (0, 0) else f"{text}, {value:%H:%M} UTC"


def render_markdown(text: str | None) -> Markup:
    """Prose as the public page renders it (the console's live preview uses this too)."""
    return Markup(_markdown.render(text or ""))  # noqa: S704  (raw HTML is escaped: html=False)


def _register_filters(engine: Engine) -> None:
    engine.engine.filters.update(
        markdown=render_markdown,
        long_date=long_date,
        instant=instant,
    )
    engine.engine.globals["css"] = CSS


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=TEMPLATES, engine=Engine, engine_callback=_register_filters)


class PreparedResponse:
    """A response whose status, headers and body are encoded once and replayed per request.

    Written by hand because Litestar's Response/ASGIResponse rebuild and re-encode the headers
    on every request, which costs more than everything else this route does.
    """

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # a fresh header list per request: middleware may add to it (e.g. the Set-Cookie guard)
        await send({"type": "http.response.start", "status": self.status, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str
    last_modified: datetime
    ok: PreparedResponse
    not_modified: PreparedResponse

    @classmethod
    def of(cls, html: str, last_modified: datetime) -> RenderedPage:
        body = html.encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        last_modified = last_modified.replace(microsecond=0)
        common = [
            (b"etag", etag.encode()),
            (b"last-modified", format_datetime(last_modified, usegmt=True).encode()),
            # Revalidate every time: a scheduled version must show up at its instant, and a 304 is cheap.
            (b"cache-control", b"no-cache"),
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        full = [(b"content-type", HTML.encode()), (b"content-length", str(len(body)).encode()), *common]
        return cls(
            body=body,
            etag=etag,
            last_modified=last_modified,
            ok=PreparedResponse(200, full, body),
            not_modified=PreparedResponse(304, common, b""),
        )


def render(request: Request, template: str, **context: Any) -> str:
    engine = request.app.template_engine
    assert engine is not None, "the policy plugin configures the template engine"
    return str(engine.get_template(template).render(**context))


def _not_modified(request: Request, page: RenderedPage) -> bool:
    """RFC 9110: If-None-Match wins when present; else If-Modified-Since."""
    if_none_match = if_modified_since = None
    for name, value in request.scope["headers"]:  # raw scan: cheaper than building a Headers object
        if name == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif name == b"if-modified-since":
            if_modified_since = value.decode("latin-1")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or page.etag in tags
    if if_modified_since:
        try:
            return page.last_modified <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def html_response(request: Request, page: RenderedPage) -> PreparedResponse:
    """The cached page, or a 304 when the client has it already (ETag / Last-Modified)."""
    return page.not_modified if _not_modified(request, page) else page.ok

"""The public pages, assembled from the cache: each rendered once per version and version in force."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from litestar import Request
from litestar.template import TemplateEngineProtocol

from policy_docs import service
from policy_docs.cache import PolicyCache
from policy_docs.diff import diff
from policy_docs.rendering import RenderedPage, render, template_config
from policy_docs.schemas import PolicySnapshot


def _changed_at(snapshot: PolicySnapshot, current: PolicySnapshot | None) -> datetime:
    """When the page last changed: its version's publication, or the last switch of version in force."""
    moments = [snapshot.published_at] + ([current.effective_from] if current else [])
    return max(moments)


async def policy_page(request: Request, cache: PolicyCache, snapshot: PolicySnapshot) -> RenderedPage:
    in_force = await cache.in_force_number()
    key = ("page", snapshot.number, in_force)
    page = cache.rendered.get(key)
    if page is None:
        current = await cache.version(in_force) if in_force is not None else None
        html = render(request, "policy_docs/page.html.j2", doc=snapshot, current=current)
        page = cache.rendered[key] = RenderedPage.of(html, _changed_at(snapshot, current))
    return page


async def version_page(request: Request, cache: PolicyCache, snapshot: PolicySnapshot) -> RenderedPage:
    current = await cache.current()
    key = ("version", snapshot.number, current.number if current else None)
    if key not in cache.rendered:
        previous = await cache.previous(snapshot.number)
        changes = diff(previous.content, snapshot.content, previous.number, snapshot.number) if previous else None
        html = render(request, "policy_docs/page.html.j2", doc=snapshot, current=current, changes=changes)
        cache.rendered[key] = RenderedPage.of(html, _changed_at(snapshot, current))
    page: RenderedPage = cache.rendered[key]
    return page


async def history_page(request: Request, cache: PolicyCache) -> RenderedPage:
    versions, current = await cache.versions(), await cache.current()
    in_force = current.number if current else None
    key = ("history", tuple(v.number for v in versions), in_force)
    if key not in cache.rendered:
        summaries = [service.summary_of(v, in_force) for v in reversed(versions)]
        html = render(request, "policy_docs/versions.html.j2", versions=summaries)
        moments = [v.published_at for v in versions] + ([current.effective_from] if current else [])
        cache.rendered[key] = RenderedPage.of(html, max(moments, default=service.now()))
    page: RenderedPage = cache.rendered[key]
    return page


def preview_html(request: Request, snapshot: PolicySnapshot, based_on: int | None, revision: int) -> str:
    """A draft, rendered as it would be published (never cached: drafts change)."""
    preview = {"based_on": based_on, "revision": revision}
    return render(request, "policy_docs/page.html.j2", doc=snapshot, current=None, preview=preview)


@cache
def _engine() -> TemplateEngineProtocol[Any, Any]:
    engine: TemplateEngineProtocol[Any, Any] = template_config().engine_instance
    return engine


def page_as_in_force(snapshot: PolicySnapshot) -> str:
    """The page of a version as it read while in force, outside any request (the evidence bundle)."""
    return str(_engine().get_template("policy_docs/page.html.j2").render(doc=snapshot, current=snapshot))

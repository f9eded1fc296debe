"""Home: the version in force, scheduled versions, open drafts, recent drift, the last purge and audit runs."""

from __future__ import annotations

from datetime import timedelta

from advanced_alchemy.filters import LimitOffset
from litestar import Controller, get
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from governance.console import web
from governance.core.clock import utcnow
from governance.core.errors import NotFound
from governance.core.params import DbSession, Period
from governance.enforcement import audits, drift
from governance.retention import service as retention
from policy_docs import cache as policy_cache
from policy_docs import service as policy

RECENT_DRIFT = timedelta(days=7)


class HomeController(Controller):
    path = "/"
    guards = [web.readers]

    @get("/", summary="The console's home page")
    async def home(self, request: HTMXRequest, db_session: DbSession) -> Template:
        cache = policy_cache.of(request.app.state)
        current = await cache.current()
        in_force = current.number if current else None
        versions = [policy.summary_of(v, in_force) for v in await cache.versions()]
        now = utcnow()
        recent, drift_total = await drift.page_of_drift(
            db_session, LimitOffset(limit=10, offset=0), Period(now - RECENT_DRIFT, None)
        )
        purges, _ = await retention.runs(db_session, LimitOffset(limit=1, offset=0))
        audit_runs, _ = await audits.page_of_runs(db_session, LimitOffset(limit=1, offset=0), Period(None, None))
        return web.page(
            request,
            "console/home.html.j2",
            active="home",
            current=current,
            scheduled=[v for v in versions if v.status == "scheduled"],
            drafts=await policy.list_drafts(db_session),
            drift=recent,
            drift_total=drift_total,
            last_purge=purges[0] if purges else None,
            last_audit=audit_runs[0] if audit_runs else None,
        )

    @get("/{rest:path}", summary="Any other console path: the console's 404 page")
    async def not_found(self, rest: FromPath[str]) -> None:
        raise NotFound(f"the console has no page {web.PREFIX}{rest}")

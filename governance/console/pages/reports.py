"""Reports: the journey report (funnel, landing and exit pages, attribution, countries, sessions per day)
and the email-tracking overview per sending domain, as SVG charts with their numbers as tables.
The same services as /api/journey/report and /api/domains/{d}/tracking/report."""

from __future__ import annotations

from typing import Annotated

from advanced_alchemy.filters import LimitOffset
from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from governance.console import charts, forms, web
from governance.core.errors import DomainError, FieldError
from governance.core.params import DbSession, Period
from tracking import events
from tracking.journey import service as journey

DOMAINS_SHOWN = 50
Instant = Annotated[str | None, QueryParameter(max_length=64)]


class ReportPages(Controller):
    path = "/reports"
    guards = [web.readers]

    @get("/", summary="Journey report and email-tracking overview")
    async def show(
        self, request: HTMXRequest, db_session: DbSession, since: Instant = None, until: Instant = None
    ) -> Template:
        errors: list[FieldError] = []
        try:
            period = Period(
                forms.utc_instant(since, "since") if since else None,
                forms.utc_instant(until, "until") if until else None,
            )
            lower, upper = journey.report_range(period)
        except DomainError as exc:
            errors = exc.errors or [FieldError("since", exc.detail)]
            lower, upper = journey.report_range(Period(None, None))
        report = await journey.build_report(db_session, lower, upper)
        overview, domain_total = await events.overview(
            db_session, LimitOffset(DOMAINS_SHOWN, 0), since=lower, until=upper
        )
        return web.page(
            request,
            "console/reports.html.j2",
            active="reports",
            status_code=422 if errors else 200,
            errors=web.field_errors(errors),
            form={"since": since or forms.local_input(lower), "until": until or forms.local_input(upper)},
            report=report,
            overview=overview,
            domain_total=domain_total,
            daily_chart=charts.columns("Sessions per day", [(d.date, d.sessions) for d in report.daily]),
            funnel_chart=charts.bars("Funnel: visitors per step", [(f.step, f.visitors) for f in report.funnel]),
            landing_chart=charts.bars("Landing pages: sessions", [(p.path, p.sessions) for p in report.landing_pages]),
            country_chart=charts.bars("Countries: visitors", [(c.country, c.visitors) for c in report.countries]),
            opens_chart=charts.bars("Human opens per domain", [(r.domain, r.opens.human) for r in overview]),
        )

"""The staff report: SQL aggregates, one query per figure.

Session figures (visitors, landing and exit pages, attribution, countries) read
`journey_sessions`, the rollup kept at ingest, for the sessions that started in [from, to):
about a tenth of the rows the events would need. The funnel reads step events only, through
their (step, occurred_at) index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracking.events import utc_day
from tracking.journey.models import JourneyEvent, JourneySession
from tracking.journey.schemas import Attribution, CountryCount, DayCount, FunnelStep, JourneyReport, PageCount

E, S = JourneyEvent, JourneySession
DEFAULT_TOP = 10
MAX_FUNNEL_STEPS = 20
MAX_FILLED_DAYS = 400  # longer ranges list only the days that had sessions


def _started_in(start: datetime, end: datetime) -> Any:
    return and_(S.started_at >= start, S.started_at < end)


async def _totals(session: AsyncSession, start: datetime, end: datetime) -> tuple[int, int, int]:
    query = select(func.count(distinct(S.visitor_id)), func.count(), func.coalesce(func.sum(S.page_views), 0)).where(
        _started_in(start, end)
    )
    visitors, sessions, page_views = (await session.execute(query)).one()
    return visitors, sessions, page_views


async def _top_pages(session: AsyncSession, start: datetime, end: datetime, column: Any, top: int) -> list[PageCount]:
    sessions = func.count()
    query = (
        select(column, sessions)
        .where(_started_in(start, end), column.is_not(None))
        .group_by(column)
        .order_by(sessions.desc(), column)
        .limit(top)
    )
    return [PageCount(path=path, sessions=count) for path, count in await session.execute(query)]


async def _attribution(session: AsyncSession, start: datetime, end: datetime, top: int) -> list[Attribution]:
    # No UTM source: the referrer's host says where they came from; neither: direct.
    source = func.coalesce(S.ft_source, S.ft_referrer, literal("(direct)"))
    medium = func.coalesce(
        S.ft_medium, case((S.ft_referrer.is_not(None), literal("referral")), else_=literal("(none)"))
    )
    campaign = func.coalesce(S.ft_campaign, literal("(none)"))
    visitors = func.count(distinct(S.visitor_id))
    query = (
        select(source, medium, campaign, visitors)
        .where(_started_in(start, end))
        .group_by(source, medium, campaign)
        .order_by(visitors.desc(), source, medium, campaign)
        .limit(top)
    )
    return [Attribution(source=s, medium=m, campaign=c, visitors=v) for s, m, c, v in await session.execute(query)]


async def _top_steps(session: AsyncSession, start: datetime, end: datetime) -> list[str]:
    visitors = func.count(distinct(E.visitor_id))
    query = (
        select(E.step)
        .where(E.step.is_not(None), E.occurred_at >= start, E.occurred_at < end)
        .group_by(E.step)
        .order_by(visitors.desc(), E.step)
        .limit(MAX_FUNNEL_STEPS)
    )
    return list(await session.scalars(query))


async def _funnel(session: AsyncSession, start: datetime, end: datetime, steps: Sequence[str]) -> list[FunnelStep]:
    """Visitors who did step 1, then step 2 no earlier than their first step 1, and so on.

    Each step is taken at its first occurrence per visitor in the range: someone who did
    step 2 before ever doing step 1 stops at step 1, even if they repeat step 2 later. One
    pass over the step events, which is what onboarding funnels need.
    """
    if not steps:
        return []
    firsts = (
        select(*(func.min(case((E.step == step, E.occurred_at))).label(f"s{i}") for i, step in enumerate(steps)))
        .where(E.step.in_(steps), E.occurred_at >= start, E.occurred_at < end)
        .group_by(E.visitor_id)
        .subquery()
    )
    columns = [firsts.c[f"s{i}"] for i in range(len(steps))]
    reached = []
    conditions: list[Any] = []
    for i, column in enumerate(columns):
        conditions.append(column.is_not(None) if i == 0 else column >= columns[i - 1])
        reached.append(func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0))
    counts = (await session.execute(select(*reached))).one()
    return [
        FunnelStep(step=step, visitors=count, drop_off=(counts[i - 1] - count) if i else 0)
        for i, (step, count) in enumerate(zip(steps, counts, strict=False))
    ]


async def _countries(session: AsyncSession, start: datetime, end: datetime, top: int) -> list[CountryCount]:
    country = func.coalesce(S.country, literal("(unknown)"))
    visitors = func.count(distinct(S.visitor_id))
    query = (
        select(country, visitors)
        .where(_started_in(start, end))
        .group_by(country)
        .order_by(visitors.desc(), country)
        .limit(top)
    )
    return [CountryCount(country=c, visitors=v) for c, v in await session.execute(query)]


async def _daily(session: AsyncSession, start: datetime, end: datetime) -> list[DayCount]:
    day = utc_day(S.started_at, session.bind.dialect.name).label("day")
    query = (
        select(day, func.count(), func.count(distinct(S.visitor_id)))
        .where(_started_in(start, end))
        .group_by(day)
        .order_by(day)
    )
    found = {
        str(d)[:10]: DayCount(date=str(d)[:10], sessions=n, visitors=v) for d, n, v in await session.execute(query)
    }
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    if (last - first).days >= MAX_FILLED_DAYS:
        return list(found.values())
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return [found.get(d.isoformat()) or DayCount(date=d.isoformat(), sessions=0, visitors=0) for d in days]


async def build_report(
    session: AsyncSession, start: datetime, end: datetime, *, steps: Sequence[str] | None = None, top: int = DEFAULT_TOP
) -> JourneyReport:
    """Every figure for [start, end): sessions that started in it, steps taken in it.
    `steps` orders the funnel (default: the most common steps)."""
    visitors, sessions, page_views = await _totals(session, start, end)
    return JourneyReport(
        since=start,
        until=end,
        visitors=visitors,
        sessions=sessions,
        page_views=page_views,
        landing_pages=await _top_pages(session, start, end, S.landing_path, top),
        exit_pages=await _top_pages(session, start, end, S.exit_path, top),
        attribution=await _attribution(session, start, end, top),
        funnel=await _funnel(
            session, start, end, steps if steps is not None else await _top_steps(session, start, end)
        ),
        countries=await _countries(session, start, end, top),
        daily=await _daily(session, start, end),
    )


CSV_COLUMNS = ("section", "label", "source", "medium", "campaign", "count", "drop_off")


def report_rows(report: JourneyReport) -> list[dict[str, Any]]:
    """The report flattened for one CSV: a `section` column says which figure a row belongs to."""
    rows: list[dict[str, Any]] = [
        {"section": "summary", "label": "since", "count": report.since.isoformat()},
        {"section": "summary", "label": "until", "count": report.until.isoformat()},
        {"section": "summary", "label": "visitors", "count": report.visitors},
        {"section": "summary", "label": "sessions", "count": report.sessions},
        {"section": "summary", "label": "page_views", "count": report.page_views},
    ]
    rows += [{"section": "landing_page", "label": p.path, "count": p.sessions} for p in report.landing_pages]
    rows += [{"section": "exit_page", "label": p.path, "count": p.sessions} for p in report.exit_pages]
    rows += [
        {"section": "attribution", "source": a.source, "medium": a.medium, "campaign": a.campaign, "count": a.visitors}
        for a in report.attribution
    ]
    rows += [{"section": "funnel", "label": f.step, "count": f.visitors, "drop_off": f.drop_off} for f in report.funnel]
    rows += [{"section": "country", "label": c.country, "count": c.visitors} for c in report.countries]
    rows += [{"section": "sessions_per_day", "label": d.date, "count": d.sessions} for d in report.daily]
    return rows

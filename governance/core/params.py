"""What handlers declare, spelled once in Litestar 3's explicit style, and the API's conventions.

- Dependencies by name: `db_session: DbSession`, `db_engine: DbEngine`, `settings: AppSettings`.
- Time: `at` is one instant; a range is `since` (inclusive) and `until` (exclusive). Both accept an
  ISO 8601 instant (`2026-05-01T12:00:00Z`, an offset, or none for UTC) or a bare date (its
  midnight, UTC). A `+` in a query string arrives as a space, so `12:00:00 02:00` is read as `+02:00`.
- Lists: `limit` (1 to 1,000) and `offset`, answered as advanced-alchemy's `OffsetPagination`
  (`items`, `limit`, `offset`, `total`).
- Exports: `format=json|csv`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from advanced_alchemy.filters import LimitOffset
from litestar.di import NamedDependency, Provide
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from governance.core.clock import as_utc
from governance.core.errors import BadRequest, FieldError
from governance.core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

DbSession = NamedDependency[AsyncSession]
DbEngine = NamedDependency[AsyncEngine]  # for work that runs its own transactions (purges)
AppSettings = NamedDependency[Settings]

MAX_ID = 2**63 - 1  # BIGINT: larger ids exist nowhere, and must not reach the database
RowId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="A row id")]
ExportFormat = Annotated[
    Literal["json", "csv"], QueryParameter(name="format", description="`json`, or `csv` for a download")
]

_INSTANT = "An ISO 8601 instant (2026-05-01T12:00:00Z; no offset means UTC) or a date (its midnight UTC)"
AtParam = Annotated[str | None, QueryParameter(name="at", description=f"{_INSTANT}; default: now", max_length=64)]
SinceParam = Annotated[
    str | None, QueryParameter(name="since", description=f"From this instant on: {_INSTANT}", max_length=64)
]
UntilParam = Annotated[
    str | None, QueryParameter(name="until", description=f"Before this instant: {_INSTANT}", max_length=64)
]
LimitParam = Annotated[int, QueryParameter(name="limit", ge=1, le=1000, description="Items per page (1 to 1,000)")]
OffsetParam = Annotated[int, QueryParameter(name="offset", ge=0, le=10_000_000, description="Items to skip")]


# Instants this service can mean: nothing it stores predates 1970, and a margin below the year 9999
# keeps every "a year before / 90 days after" computed from an instant inside datetime's range.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def parse_instant(text: str, name: str) -> datetime:
    """An aware UTC datetime, or BadRequest naming the parameter (calendar edges included)."""
    value = text.strip()
    try:
        if "T" in value or ":" in value:
            if value[-6:-5] == " ":  # `+02:00` after URL decoding
                value = value[:-6] + "+" + value[-5:]
            instant = as_utc(datetime.fromisoformat(value))
        else:
            instant = datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except (ValueError, OverflowError):
        problem = f"{text!r} is not an ISO 8601 instant such as 2026-05-01T12:00:00Z, or a date such as 2026-05-01"
        raise BadRequest(f"{name}: {problem}", errors=[FieldError(name, problem)]) from None
    if not EARLIEST <= instant < LATEST:
        problem = f"{text!r} is outside {EARLIEST.year} to {LATEST.year - 1}"
        raise BadRequest(f"{name}: {problem}", errors=[FieldError(name, problem)])
    return instant


class Period:
    """A time range from the query: `since` inclusive, `until` exclusive, either may be open."""

    __slots__ = ("since", "until")

    def __init__(self, since: datetime | None, until: datetime | None) -> None:
        if since is not None and until is not None and since >= until:
            raise BadRequest("since must be before until", errors=[FieldError("since", "must be before until")])
        self.since, self.until = since, until

    def overlaps(self, starts: Any, ends: Any = None) -> list[ColumnElement[bool]]:
        """SQL conditions: a row lasting from `starts` to `ends` (an instant: `ends` is `starts`) meets the
        period, i.e. it ends at or after `since` and starts before `until`."""
        ends = starts if ends is None else ends
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(ends >= self.since)
        if self.until is not None:
            found.append(starts < self.until)
        return found


def provide_period(since: SinceParam = None, until: UntilParam = None) -> Period:
    return Period(
        parse_instant(since, "since") if since else None,
        parse_instant(until, "until") if until else None,
    )


def provide_page(limit: LimitParam = 100, offset: OffsetParam = 0) -> LimitOffset:
    return LimitOffset(limit=limit, offset=offset)


PeriodParam = NamedDependency[Period]  # `period: PeriodParam`
PageParam = NamedDependency[LimitOffset]  # `page: PageParam`

DEPENDENCIES = {
    "period": Provide(provide_period, sync_to_thread=False),
    "page": Provide(provide_page, sync_to_thread=False),
}

"""Reading the audit log: filtered pages for the API, every matching entry for exports. No HTTP here.

Writing is `governance.core.audit.record`, for every domain; verifying is `verify`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from governance.audit_log.schemas import AuditEntryView
from governance.core.audit import AuditAction, AuditEntry
from governance.core.errors import FieldError, Invalid
from governance.core.params import Period
from governance.core.schemas import views

MAX_API_EXPORT = 100_000  # rows of one CSV download; the CLI streams any number
STREAM_BATCH = 5_000


class AuditEntryService(SQLAlchemyAsyncRepositoryService[AuditEntry]):
    class Repository(SQLAlchemyAsyncRepository[AuditEntry]):
        model_type = AuditEntry

    repository_type = Repository


class Filters:
    """Who (`actor`, exact), what (`actions`, any of them), on what (`subject`, a prefix: `cookie-policy`
    matches `cookie-policy v3`), when (`period`)."""

    def __init__(
        self,
        period: Period | None = None,
        *,
        actor: str | None = None,
        actions: Sequence[AuditAction] = (),
        subject: str | None = None,
    ) -> None:
        self.period = period or Period(None, None)
        self.actor, self.actions, self.subject = actor, list(actions), subject

    def where(self) -> list[ColumnElement[bool]]:
        found = self.period.overlaps(AuditEntry.occurred_at)
        if self.actor:
            found.append(AuditEntry.actor == self.actor)
        if self.actions:
            found.append(AuditEntry.action.in_([a.value for a in self.actions]))
        if self.subject:
            found.append(AuditEntry.subject.startswith(self.subject, autoescape=True))
        return found

    def described(self) -> dict[str, Any]:
        """The filters as the export's own audit entry records them."""
        return {
            "since": self.period.since.isoformat() if self.period.since else None,
            "until": self.period.until.isoformat() if self.period.until else None,
            "actor": self.actor,
            "actions": [a.value for a in self.actions],
            "subject": self.subject,
        }


async def page_of_entries(
    session: AsyncSession, page: LimitOffset, filters: Filters
) -> tuple[list[AuditEntryView], int]:
    """A page of matching entries, newest first, and how many match."""
    found, total = await AuditEntryService(session=session).get_many_and_count(
        page, OrderBy("id", "desc"), *filters.where()
    )
    return views(AuditEntryView, found), total


async def entries_for_export(session: AsyncSession, filters: Filters) -> list[AuditEntryView]:
    """Every matching entry, oldest first (chain order), for one download; refused beyond MAX_API_EXPORT."""
    found, total = await AuditEntryService(session=session).get_many_and_count(
        LimitOffset(limit=MAX_API_EXPORT, offset=0), OrderBy("id", "asc"), *filters.where()
    )
    if total > MAX_API_EXPORT:
        problem = f"{total:,} entries match; one download holds at most {MAX_API_EXPORT:,}: narrow the period"
        raise Invalid(problem, errors=[FieldError("since", problem)])
    return views(AuditEntryView, found)


async def stream_entries(session: AsyncSession, filters: Filters) -> AsyncIterator[AuditEntryView]:
    """Every matching entry, oldest first, read in batches (the CLI export of a log of any size)."""
    columns = [getattr(AuditEntry, field) for field in AuditEntryView.__struct_fields__]
    after = 0
    while True:
        query = select(*columns).where(AuditEntry.id > after, *filters.where()).order_by(AuditEntry.id)
        batch = (await session.execute(query.limit(STREAM_BATCH))).all()  # rows, not ORM objects: memory stays flat
        for row in batch:
            yield AuditEntryView(**row._mapping)
        if len(batch) < STREAM_BATCH:
            return
        after = batch[-1].id


def csv_row(entry: AuditEntryView) -> dict[str, Any]:
    """An entry as a CSV row: `details` as compact JSON with sorted keys."""
    row = {field: getattr(entry, field) for field in AuditEntryView.__struct_fields__}
    row["details"] = json.dumps(entry.details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row["occurred_at"] = entry.occurred_at.isoformat()
    return row

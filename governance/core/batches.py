"""The bounded delete every retention purge is built on: the oldest `limit` rows before a cutoff.

Each domain's `purge…_before(session, cutoff, limit)` and `count…_before(session, cutoff)` call
these two with its own table and clock column (and, where some rows must stay, extra conditions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Result, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types `execute` as Result; DML returns a CursorResult)."""
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


async def delete_oldest(
    session: AsyncSession, model: Any, column: Any, cutoff: datetime, limit: int, *where: ColumnElement[bool]
) -> int:
    """Delete at most `limit` rows with `column < cutoff` (and `where`), oldest first: an index range
    scan, then deletes by primary key, so the lock footprint of one batch stays small on both engines."""
    ids = select(model.id).where(column < cutoff, *where).order_by(column).limit(limit).scalar_subquery()
    result = await session.execute(delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False))
    return affected(result)


async def count_before(session: AsyncSession, column: Any, cutoff: datetime, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).where(column < cutoff, *where)) or 0)


class TimedBatches:
    """Batch sizes chosen by time, not rows: each batch aims at `target` seconds (SQLite's purge holds
    the one write lock for a whole batch, so a batch's duration is a writer's worst wait).

    Starts small, grows at most twofold per batch while batches come in under the target, and
    shrinks at once, in proportion, after one that took too long (a slower disk, a busier machine,
    a wider table), so no two batches in a row overshoot by much."""

    def __init__(self, target: float, *, start: int = 200, minimum: int = 20, maximum: int = 50_000) -> None:
        self.target, self.minimum, self.maximum = target, minimum, maximum
        self.size = max(minimum, min(start, maximum))

    def took(self, rows: int, seconds: float) -> None:
        """Record that the last batch deleted `rows` in `seconds`; `size` is then the next batch's."""
        if rows <= 0:
            return
        per_row = max(seconds, 1e-6) / rows
        ideal = int(self.target / per_row)
        self.size = max(self.minimum, min(ideal, self.size * 2, self.maximum))

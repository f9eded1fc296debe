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

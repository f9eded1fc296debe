"""The bounded delete every purge function is built on: the oldest `limit` rows before a cutoff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def delete_oldest(session: AsyncSession, model: Any, column: Any, cutoff: datetime, limit: int) -> int:
    """Delete at most `limit` rows with `column < cutoff`, oldest first (an index range scan, then
    deletes by primary key: the lock footprint of one batch stays small on both engines)."""
    ids = select(model.id).where(column < cutoff).order_by(column).limit(limit).scalar_subquery()
    result = await session.execute(delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False))
    return result.rowcount or 0


async def count_before(session: AsyncSession, column: Any, cutoff: datetime) -> int:
    return await session.scalar(select(func.count()).where(column < cutoff)) or 0

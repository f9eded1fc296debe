"""The append-only audit log: who did what (publish, settings change, export, purge, erasure).

Only `record` writes to it; nothing in the app updates or deletes an entry except the
retention purge of entries older than their (long) retention period.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from governance.core import batches


class AuditEntry(BigIntBase):
    __tablename__ = "audit_log"

    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


async def record(session: AsyncSession, *, actor: str, action: str, subject: str, **details: Any) -> AuditEntry:
    entry = AuditEntry(occurred_at=datetime.now(UTC), actor=actor, action=action, subject=subject, details=details)
    session.add(entry)
    await session.flush()
    return entry


async def entries(session: AsyncSession, *, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(await session.scalars(query))


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Retention only: entries older than the audit log's (long) period, oldest first."""
    return await batches.delete_oldest(session, AuditEntry, AuditEntry.occurred_at, cutoff, limit)


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    return await batches.count_before(session, AuditEntry.occurred_at, cutoff)

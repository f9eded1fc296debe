"""The append-only audit log: who did what (publish, withdrawal, drafts, settings, exports, purges,
people), each entry chained to the one before by hash (see `chain`).

`record` is how every domain writes to it, with an action from `AuditAction`; the entry is written
when the transaction commits, and not at all if it rolls back. Nothing updates or
deletes an entry except retention, which removes the oldest entries only as a prefix of the chain
and keeps the last removed hash as a checkpoint, so the rest still verifies. Reading, verifying and
exporting are the audit-log domain's (governance/audit_log/).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core.audit.actions import AuditAction, action_of
from governance.core.audit.chain import lock_head, queue
from governance.core.audit.models import CHAIN_ID, GENESIS, AuditChain, AuditEntry
from governance.core.clock import utcnow

__all__ = [
    "GENESIS",
    "AuditAction",
    "AuditChain",
    "AuditEntry",
    "count_before",
    "entries",
    "purge_before",
    "record",
]


async def record(
    session: AsyncSession, *, actor: str, action: AuditAction | str, subject: str, **details: Any
) -> AuditEntry:
    """Append an entry when the transaction commits (see `chain`); nothing is written if it rolls back.

    `action` is an AuditAction or its value; anything else is a ValueError. The session is flushed,
    so the caller's own changes reach the database (and their errors surface) here, as before.
    """
    entry = AuditEntry(
        occurred_at=utcnow(), actor=actor, action=action_of(action).value, subject=subject, details=details
    )
    queue(session.sync_session, entry)
    await session.flush()
    return entry


async def entries(session: AsyncSession, *, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(await session.scalars(query))


async def _first_kept(session: AsyncSession, cutoff: datetime) -> int | None:
    """The first entry retention must keep: anything from it on stays, so only a prefix of the chain goes."""
    query = select(AuditEntry.id).where(AuditEntry.occurred_at >= cutoff).order_by(AuditEntry.id).limit(1)
    first: int | None = await session.scalar(query)
    return first


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Retention only: up to `limit` of the oldest entries, all older than `cutoff`, and the checkpoint
    moved to the last of them. Locks the chain like an append, so appends and purges never interleave."""
    await session.run_sync(lambda sync: lock_head(sync.connection()))
    query = select(AuditEntry.id, AuditEntry.hash, AuditEntry.occurred_at).order_by(AuditEntry.id).limit(limit)
    if (first_kept := await _first_kept(session, cutoff)) is not None:
        query = query.where(AuditEntry.id < first_kept)
    doomed = (await session.execute(query)).all()
    if not doomed:
        return 0
    last_id, last_hash, last_at = doomed[-1]
    await session.execute(
        delete(AuditEntry).where(AuditEntry.id <= last_id).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AuditChain)
        .where(AuditChain.id == CHAIN_ID)
        .values(
            checkpoint_id=last_id,
            checkpoint_hash=last_hash,
            checkpoint_at=last_at,
            purged=AuditChain.purged + len(doomed),
        )
        .execution_options(synchronize_session=False)
    )
    return len(doomed)


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    """How many entries a purge at `cutoff` would remove (the prefix older than it)."""
    query = select(func.count()).select_from(AuditEntry)
    if (first_kept := await _first_kept(session, cutoff)) is not None:
        query = query.where(AuditEntry.id < first_kept)
    return int(await session.scalar(query) or 0)

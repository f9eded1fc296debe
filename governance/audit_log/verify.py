"""Does the audit log prove itself? Walk the chain (or a stretch of it) and name the first entry that
does not match.

The whole chain starts at the checkpoint retention left (or at 64 zeros) and ends at the chain's
head; a stretch (`from_id`/`to_id`, or an instant range turned into the ids it covers, so a stretch is
always contiguous) is checked entry by entry and at both ends against its neighbours' stored hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core.audit import GENESIS, AuditChain, AuditEntry
from governance.core.audit.chain import entry_hash
from governance.core.audit.models import CHAIN_ID

BATCH = 5_000
ATTEMPTS = 3  # a purge moving the checkpoint under a walk makes the walk start again
_COLUMNS = (
    AuditEntry.id,
    AuditEntry.occurred_at,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.subject,
    AuditEntry.details,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    """The first entry that does not match, and why."""

    entry_id: int | None
    occurred_at: datetime | None
    action: str | None
    reason: str


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    holds: bool
    whole_chain: bool  # False: a stretch (its ends checked against their neighbours)
    entries: int  # how many were checked
    first_id: int | None
    last_id: int | None
    first_at: datetime | None
    last_at: datetime | None
    head_hash: str  # the chain's head when the walk began: keep it elsewhere to anchor this state
    checkpoint_id: int | None  # the last entry retention removed, if any
    broken: ChainBreak | None = None

    @property
    def sentence(self) -> str:
        if self.broken is not None:
            return f"the audit log does not verify: {self.broken.reason}"
        if not self.entries:
            return "the audit log holds: it has no entries" + ("" if self.whole_chain else " in this range")
        span = f"#{self.first_id} ({self.first_at:%Y-%m-%d %H:%M:%S} UTC) to #{self.last_id} ({self.last_at:%Y-%m-%d %H:%M:%S} UTC)"
        what = "the whole chain" if self.whole_chain else "this stretch"
        return f"the audit log holds: {self.entries:,} entries, {span}, {what} intact; head {self.head_hash}"


async def verify(
    session: AsyncSession,
    *,
    from_id: int | None = None,
    to_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Verification:
    """Verify the whole chain (no bounds) or the stretch the bounds cover (ids, or instants)."""
    if since is not None or until is not None:
        from_id, to_id = await ids_between(session, since, until)
        if from_id is None:
            return await _empty(session)
    for _ in range(ATTEMPTS):
        result = await _walk(session, from_id, to_id)
        if result.holds or await _checkpoint(session) == result.checkpoint_id:
            return result
    return result


async def ids_between(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> tuple[int | None, int | None]:
    """The first and last entry ids written in [since, until): the contiguous stretch of the chain they span."""
    where = []
    if since is not None:
        where.append(AuditEntry.occurred_at >= since)
    if until is not None:
        where.append(AuditEntry.occurred_at < until)
    first, last = (await session.execute(select(func.min(AuditEntry.id), func.max(AuditEntry.id)).where(*where))).one()
    return first, last


async def _empty(session: AsyncSession) -> Verification:
    chain = await session.get(AuditChain, CHAIN_ID)
    return Verification(
        holds=True,
        whole_chain=False,
        entries=0,
        first_id=None,
        last_id=None,
        first_at=None,
        last_at=None,
        head_hash=chain.head_hash if chain else GENESIS,
        checkpoint_id=chain.checkpoint_id if chain else None,
    )


async def _checkpoint(session: AsyncSession) -> int | None:
    checkpoint: int | None = await session.scalar(select(AuditChain.checkpoint_id).where(AuditChain.id == CHAIN_ID))
    return checkpoint


class _Walk:
    """The running state of one walk: what the next entry must be chained to, and what was seen."""

    def __init__(self, expected_prev: str, start: str) -> None:
        self.expected_prev, self.start = expected_prev, start  # `start` names what the first entry follows
        self.count = 0
        self.first: Any = None
        self.last: Any = None
        self.broken: ChainBreak | None = None

    @property
    def after(self) -> str:
        return f"entry #{self.last.id}" if self.last is not None else self.start

    def follows(self, row: Any) -> bool:
        """Is `row` chained to what came before? (Only its link: the entry after a stretch is checked so.)"""
        if row.prev_hash != self.expected_prev:
            self.broken = _break(
                row,
                f"entry #{row.id} ({_when(row)}, {row.action}) does not follow {self.after}: it was chained to "
                f"{row.prev_hash[:16]}…, not {self.expected_prev[:16]}… (an entry between them was deleted, or one was altered)",
            )
            return False
        return True

    def step(self, row: Any) -> bool:
        """Check one entry, its link and its content; False at the first that does not match."""
        _, occurred_at, actor, action, subject, details, prev_hash, digest = row
        if prev_hash != self.expected_prev:
            return self.follows(row)
        if entry_hash(prev_hash, occurred_at, actor, action, subject, details) != digest:
            self.broken = _break(
                row,
                f"entry #{row.id} ({_when(row)}, {row.action}) was changed after it was written: its content no longer matches its hash",
            )
            return False
        self.expected_prev = digest
        self.count += 1
        if self.first is None:
            self.first = row
        self.last = row
        return True


async def _walk(session: AsyncSession, from_id: int | None, to_id: int | None) -> Verification:
    chain = await session.get(AuditChain, CHAIN_ID)
    checkpoint_id = chain.checkpoint_id if chain else None
    walk = _Walk(*await _start(session, chain, from_id))
    cursor = from_id - 1 if from_id is not None else (checkpoint_id or 0)
    head = chain.head_hash if chain else GENESIS
    if from_id is None and checkpoint_id is not None:
        walk.broken = await _before_checkpoint(session, checkpoint_id)
    while walk.broken is None:
        cursor = await _walk_rows(session, walk, cursor, to_id)
        if walk.broken is not None:
            break
        if to_id is not None:  # a stretch: the entry after it must follow it
            following = (await session.execute(_batch(cursor, [], limit=1))).first()
            if following is not None:
                walk.follows(following)
            break
        head = await session.scalar(select(AuditChain.head_hash).where(AuditChain.id == CHAIN_ID)) or GENESIS
        if head == walk.expected_prev:
            break
        if (await session.execute(_batch(cursor, [], limit=1))).first() is None:  # else: appended meanwhile, walk on
            walk.broken = _cut_off(walk, head, chain is None)
            break
    return Verification(
        holds=walk.broken is None,
        whole_chain=from_id is None and to_id is None,
        entries=walk.count,
        first_id=walk.first.id if walk.first else None,
        last_id=walk.last.id if walk.last else None,
        first_at=walk.first.occurred_at if walk.first else None,
        last_at=walk.last.occurred_at if walk.last else None,
        head_hash=head,
        checkpoint_id=checkpoint_id,
        broken=walk.broken,
    )


async def _walk_rows(session: AsyncSession, walk: _Walk, cursor: int, to_id: int | None) -> int:
    """Check entries after `cursor` (up to `to_id`) in batches; the id of the last one read."""
    bounds = [] if to_id is None else [AuditEntry.id <= to_id]
    while True:
        rows = (await session.execute(_batch(cursor, bounds))).all()
        for row in rows:
            if not walk.step(row):
                return cursor
            cursor = row.id
        if len(rows) < BATCH:
            return cursor


def _batch(after_id: int, bounds: list[Any], limit: int = BATCH) -> Select[Any]:
    return select(*_COLUMNS).where(AuditEntry.id > after_id, *bounds).order_by(AuditEntry.id).limit(limit)


async def _start(session: AsyncSession, chain: AuditChain | None, from_id: int | None) -> tuple[str, str]:
    """What the first entry checked must be chained to: its predecessor's stored hash, or the checkpoint."""
    if from_id is not None:
        query = select(AuditEntry.id, AuditEntry.hash).where(AuditEntry.id < from_id).order_by(AuditEntry.id.desc())
        before = (await session.execute(query.limit(1))).first()
        if before is not None:
            return before.hash, f"entry #{before.id}"
    if chain is None or chain.checkpoint_id is None:
        return GENESIS, "the start of the chain"
    return chain.checkpoint_hash, f"the checkpoint (entry #{chain.checkpoint_id}, purged)"


async def _before_checkpoint(session: AsyncSession, checkpoint_id: int) -> ChainBreak | None:
    """Retention removed every entry up to the checkpoint: one still there was put back (or forged)."""
    row = (await session.execute(_batch(0, [AuditEntry.id <= checkpoint_id], limit=1))).first()
    if row is None:
        return None
    return _break(
        row,
        f"entry #{row.id} ({_when(row)}, {row.action}) lies at or before the checkpoint (entry #{checkpoint_id}, "
        "purged): retention removed every entry up to it, so this one was put back or forged",
    )


def _cut_off(walk: _Walk, head: str, head_missing: bool) -> ChainBreak:
    """The walk ended, but not where the chain's head says the log ends."""
    if head_missing:
        return ChainBreak(entry_id=None, occurred_at=None, action=None, reason="the chain's head row is missing")
    if walk.last is None:
        return ChainBreak(
            entry_id=None,
            occurred_at=None,
            action=None,
            reason=f"the chain's head is {head[:16]}…, but no entry is left after {walk.after}: entries were removed",
        )
    return ChainBreak(
        entry_id=walk.last.id,
        occurred_at=walk.last.occurred_at,
        action=walk.last.action,
        reason=f"the chain's head is {head[:16]}…, but the log ends at entry #{walk.last.id} with "
        f"{walk.expected_prev[:16]}…: entries after #{walk.last.id} were removed (or the head was changed)",
    )


def _break(row: Any, reason: str) -> ChainBreak:
    return ChainBreak(entry_id=row.id, occurred_at=row.occurred_at, action=row.action, reason=reason)


def _when(row: Any) -> str:
    return f"{row.occurred_at:%Y-%m-%d %H:%M:%S} UTC"

"""The hash chain: how an entry's hash is computed, and how appends extend the chain without forking it.

An entry's hash is SHA-256 over the UTF-8 JSON object

    {"action": ..., "actor": ..., "details": {...}, "occurred_at": "2026-05-01T12:00:00.000000Z",
     "prev_hash": <the previous entry's hash, or 64 zeros for the first>, "subject": ...}

with keys sorted at every level and no whitespace (msgspec's deterministic encoding), so anyone
can recompute it from an export. Editing an entry breaks its own hash; deleting one breaks the
next entry's link; cutting the end off leaves the chain's head pointing at a hash no entry has.

Appends are serialized by locking the chain's one row before reading its head (SELECT ... FOR UPDATE
on PostgreSQL; on SQLite an UPDATE of the row, which takes the database's single write lock), held
until the transaction ends, so two instances appending at once extend the chain one after the other.

`record` only queues an entry on its session; the entries are written when the transaction commits,
after every other change of the transaction has been flushed, so the chain's row is the last lock
a transaction takes and is held only for its commit (no deadlock whatever order code records in,
and writers wait for each other's commits, not for their work). A rollback drops them. Any
`AuditEntry` added to a session directly is chained when the session flushes (a `before_flush`
hook), so no code path can write an entry outside the chain.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Executable, Table, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from governance.core.audit.models import CHAIN_ID, GENESIS, AuditChain, AuditEntry

_chain: Table = AuditChain.__table__  # type: ignore[assignment]
_QUEUE = "audit_entries"  # session.info key: entries waiting for the commit, with the transaction they belong to


def canonical_time(moment: datetime) -> str:
    """`2026-05-01T12:00:00.000000Z`: UTC, always with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def canonical_details(details: Any) -> dict[str, Any]:
    """Details as plain JSON that every engine stores and returns unchanged (UUIDs, instants and enums
    become strings; floats become their decimal text, since engines may rewrite a number's spelling)."""

    def plain(value: Any) -> Any:
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(msgspec.to_builtins(details or {}, str_keys=True))  # type: ignore[no-any-return]


def entry_hash(
    prev_hash: str, occurred_at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
) -> str:
    content = {
        "action": action,
        "actor": actor,
        "details": details,
        "occurred_at": canonical_time(occurred_at),
        "prev_hash": prev_hash,
        "subject": subject,
    }
    return hashlib.sha256(msgspec.json.encode(content, order="deterministic")).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    """The hash the entry should have, from what it holds."""
    return entry_hash(entry.prev_hash, entry.occurred_at, entry.actor, entry.action, entry.subject, entry.details)


def lock_head(connection: Connection) -> str:
    """Lock the chain's row (creating it on an empty database) and return its head hash."""
    postgres = connection.dialect.name == "postgresql"
    lock: Executable
    if postgres:  # a row lock, no new row version
        lock = select(_chain.c.head_hash).where(_chain.c.id == CHAIN_ID).with_for_update()
    else:  # SQLite has no row locks: a write takes the database's write lock
        lock = (
            _chain.update()
            .where(_chain.c.id == CHAIN_ID)
            .values(head_hash=_chain.c.head_hash)
            .returning(_chain.c.head_hash)
        )
    head = connection.execute(lock).scalar()
    if head is not None:
        return str(head)
    genesis = {"id": CHAIN_ID, "head_hash": GENESIS, "checkpoint_hash": GENESIS, "purged": 0}
    connection.execute((postgresql if postgres else sqlite).insert(_chain).values(genesis).on_conflict_do_nothing())
    return str(connection.execute(lock).scalar_one())


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    if not new:
        return
    new.sort(key=lambda entry: inspect(entry).insert_order or 0)
    connection = session.connection()
    previous = lock_head(connection)
    for entry in new:
        entry.details = canonical_details(entry.details)
        entry.prev_hash = previous
        entry.hash = previous = hash_of(entry)
    connection.execute(_chain.update().where(_chain.c.id == CHAIN_ID).values(head_hash=previous))


def queue(session: Session, entry: AuditEntry) -> None:
    """Write `entry` when the session's transaction commits (dropped if it rolls back)."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_QUEUE, []).append((entry, transaction))


@event.listens_for(Session, "before_commit")
def _write_queued_entries(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released: its entries wait for the real commit
    queued = session.info.pop(_QUEUE, None)
    if not queued:
        return
    session.flush()  # the transaction's other changes first: the chain's row is its last lock
    session.add_all(entry for entry, _ in queued)  # chained by the commit's own flush, right before COMMIT


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_entries(session: Session, rolled_back: SessionTransaction) -> None:
    """A savepoint rolled back takes its own entries with it (the whole transaction's go below)."""
    queued = session.info.get(_QUEUE)
    if queued:
        session.info[_QUEUE] = [(e, t) for e, t in queued if not _within(t, rolled_back)]


@event.listens_for(Session, "after_transaction_end")
def _forget_entries_of_an_ended_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (written already), rolled back or closed: nothing carries over
        session.info.pop(_QUEUE, None)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False

"""The hash chain: how an entry's hash is computed, and how appends extend the chain without forking it.

An entry's hash is SHA-256 over the UTF-8 JSON object

    {"action": ..., "actor": ..., "details": {...}, "occurred_at": "2026-05-01T12:00:00.000000Z",
     "prev_hash": <the previous entry's hash, or 64 zeros for the first>, "subject": ...}

with keys sorted at every level and no whitespace (msgspec's deterministic encoding), so anyone
can recompute it from an export. Editing an entry breaks its own hash; deleting one breaks the
next entry's link; cutting the end off leaves the chain's head pointing at a hash no entry has.

Appends are serialized by locking the chain's one row before reading its head: an UPDATE of that row
is a row lock on PostgreSQL and takes the database's single write lock on SQLite, held until the
transaction ends, so two instances appending at once extend the chain one after the other. Any
`AuditEntry` added to a session is chained when the session flushes (a `before_flush` hook), so no
code path can write an entry outside the chain. Record audit entries last in a transaction: the
lock is held until it commits.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Table, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from governance.core.audit.models import CHAIN_ID, GENESIS, AuditChain, AuditEntry

_chain: Table = AuditChain.__table__  # type: ignore[assignment]


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    touch = _chain.update().where(_chain.c.id == CHAIN_ID).values(head_hash=_chain.c.head_hash)
    head = connection.execute(touch.returning(_chain.c.head_hash)).scalar()
    if head is not None:
        return str(head)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    genesis = {"id": CHAIN_ID, "head_hash": GENESIS, "checkpoint_hash": GENESIS, "purged": 0}
    connection.execute(dialect.insert(_chain).values(genesis).on_conflict_do_nothing())
    return str(connection.execute(touch.returning(_chain.c.head_hash)).scalar_one())


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

"""The audit log's two tables: the entries, each chained to the one before by hash, and the chain's
one row (its head, which every append locks, and the checkpoint retention leaves behind)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

GENESIS = "0" * 64  # the "previous hash" of the very first entry
CHAIN_ID = 1  # one chain, one row


class AuditEntry(BigIntBase):
    """Who did what. `hash` is SHA-256 over the canonical JSON of the entry's content and `prev_hash`
    (see governance.core.audit.chain); both are set when the entry is flushed, however it was added."""

    __tablename__ = "audit_log"

    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(BigIntBase):
    """The chain's state: `head_hash` is the last entry's hash (appends lock this row to extend it);
    `checkpoint_*` is the last entry retention purged, from which what is left still verifies."""

    __tablename__ = "audit_chain"

    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    checkpoint_id: Mapped[int | None] = mapped_column(BigInteger)
    checkpoint_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    checkpoint_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    purged: Mapped[int] = mapped_column(BigInteger, default=0)

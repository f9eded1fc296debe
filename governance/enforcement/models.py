"""The violation log: undeclared or mis-declared cookie/storage writes seen by a guard."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class Violation(BigIntBase):
    """One finding per (source, kind, name, reason, mode, page, policy version) and hour.

    Repeats within the hour only raise `count` and `last_seen_at`: a page load (or a busy
    route) cannot flood the table.
    """

    __tablename__ = "violations"

    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)  # first seen
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    source: Mapped[str] = mapped_column(String(16), index=True)  # server | browser
    kind: Mapped[str] = mapped_column(String(32))  # cookie | local_storage | session_storage
    name: Mapped[str] = mapped_column(String(255), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")
    mode: Mapped[str] = mapped_column(String(16))  # enforce (blocked) | report (let through)
    page: Mapped[str] = mapped_column(String(1024), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    policy_version: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=1)

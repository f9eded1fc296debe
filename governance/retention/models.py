"""Retention rules (only the periods staff changed; defaults live in code) and purge runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class RetentionRule(BigIntBase):
    """A period chosen by privacy staff for one data class, overriding the default in the registry."""

    __tablename__ = "retention_rules"

    data_class: Mapped[str] = mapped_column(String(64), unique=True)
    period_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(320))


class PurgeRun(BigIntBase):
    """One purge: what it cut off, what it deleted, how it ended.

    `slot` names the scheduled time a run belongs to (unique, so instances sharing a database
    cannot both claim one); manual runs have none. `deleted` is updated in the same transaction
    as each batch it counts, so it stays exact across a crash and a resume.
    """

    __tablename__ = "purge_runs"

    slot: Mapped[str | None] = mapped_column(String(32), unique=True)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | manual | cli
    actor: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | succeeded | failed
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    resumed: Mapped[int] = mapped_column(Integer, default=0)
    cutoffs: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)  # class -> ISO instant
    deleted: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)  # class -> rows
    partitions_dropped: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    error: Mapped[str | None] = mapped_column(Text)

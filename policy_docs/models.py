"""Policy documents and their versions (drafts and published, immutable once published)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

DRAFT = "draft"
PUBLISHED = "published"
WITHDRAWN = "withdrawn"  # published for a future instant, then taken back before it: never shown again


class PolicyDocument(UUIDAuditBase):
    """A document with a dated history of versions, e.g. `cookie-policy`."""

    __tablename__ = "policy_documents"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))


class PolicyVersion(UUIDAuditBase):
    """A draft (no number), a published version (numbered, hashed, never edited again), or a
    withdrawn one (published for a future instant and taken back before it; it keeps its number).

    `content` is a `PolicyContent` as JSON: prose sections, declarations and data lists.
    The unique (document, number) constraint is what makes concurrent publishes safe.
    """

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    document_id: Mapped[UUID] = mapped_column(ForeignKey("policy_documents.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    number: Mapped[int | None] = mapped_column(Integer)
    based_on: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every draft edit
    content: Mapped[dict[str, Any]] = mapped_column(JsonB)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    change_summary: Mapped[str] = mapped_column(Text, default="")
    material: Mapped[bool] = mapped_column(default=False)
    effective_from: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), index=True)
    last_updated: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(320))
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(320))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    withdrawn_by: Mapped[str | None] = mapped_column(String(320))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

"""Rows of every data class at chosen instants, and purges against the test database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from auth import service as auth_service
from auth.models import LoginFailure, RevokedToken
from governance.core.audit import AuditEntry
from governance.core.db import create_engine
from governance.enforcement.models import DriftItem, StoredAudit, Violation
from governance.retention import service
from governance.retention.models import PurgeRun
from governance.retention.registry import data_classes
from tracking.journey.models import JourneyEvent
from tracking.models import EmailRecord, SendingDomain, TrackingEvent

T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _violation(at: datetime) -> Violation:
    return Violation(
        dedup_key=uuid.uuid4().hex,
        occurred_at=at,
        last_seen_at=at,
        source="server",
        kind="cookie",
        name="tracker",
        reason="undeclared",
        mode="report",
    )


def _drift_item(at: datetime) -> DriftItem:
    return DriftItem(
        kind="cookie", name=uuid.uuid4().hex, reasons=["undeclared"], sources=["server"], first_seen_at=at,
        last_seen_at=at, count=1, pages=[],
    )  # fmt: skip


def _audit_run(at: datetime) -> StoredAudit:
    return StoredAudit(
        trigger="cli", actor="seed", status="finished", started_at=at, finished_at=at, urls=[], browser="",
        pages=0, pages_failed=0, findings=0, claims={},
    )  # fmt: skip


def _journey_event(at: datetime) -> JourneyEvent:
    return JourneyEvent(
        occurred_at=at, visitor_id=str(uuid.uuid4()), session_id=str(uuid.uuid4()), event_type="page_view", path="/"
    )


def _purge_run(at: datetime) -> PurgeRun:
    return PurgeRun(
        trigger="manual",
        actor="seed",
        status="succeeded",
        started_at=at,
        finished_at=at,
        resumed=0,
        cutoffs={},
        deleted={},
        partitions_dropped=[],
    )


def _tracking_event(at: datetime) -> TrackingEvent:
    return TrackingEvent(occurred_at=at, email_id=1, kind="open", client_class="human", class_reason="seed")


async def _email_records(session, instants: tuple[datetime, ...]) -> list[EmailRecord]:
    account = await auth_service.get_or_create_account(session, "retention-seed")
    domain = SendingDomain(account_id=account.id, name=f"{uuid.uuid4().hex[:8]}.example.test")
    session.add(domain)
    await session.flush()
    decision = {
        "opens_decided": True,
        "opens_decided_by": "domain",
        "opens_active": True,
        "clicks_decided": True,
        "clicks_decided_by": "domain",
        "clicks_active": True,
    }
    return [
        EmailRecord(
            account_id=account.id,
            domain_id=domain.id,
            message_id=f"<{uuid.uuid4().hex}@seed>",
            recipient_key="k" * 64,
            created_at=at,
            updated_at=at,
            **decision,
        )
        for at in instants
    ]


# One row of each data class whose retention clock started at `at`.
MAKERS: dict[str, tuple[Any, Callable[[datetime], Any]]] = {
    "tracking_events": (TrackingEvent, _tracking_event),
    "email_records": (EmailRecord, _email_records),  # builds its own account and domain: see `seed`
    "journey_events": (JourneyEvent, _journey_event),
    "violations": (Violation, _violation),
    "drift_items": (DriftItem, _drift_item),
    "audit_runs": (StoredAudit, _audit_run),
    "revoked_tokens": (RevokedToken, lambda at: RevokedToken(jti=uuid.uuid4().hex, expires_at=at)),
    "login_failures": (LoginFailure, lambda at: LoginFailure(email_key=uuid.uuid4().hex, occurred_at=at)),
    "audit_log": (
        AuditEntry,
        lambda at: AuditEntry(occurred_at=at, actor="seed", action="seed", subject="seed", details={}),
    ),
    "purge_runs": (PurgeRun, _purge_run),
}


def period(name: str) -> timedelta:
    return timedelta(days=data_classes()[name].default_days)


def seed(db, name: str, *instants: datetime) -> None:
    _, make = MAKERS[name]

    async def add(session) -> None:
        rows = await _email_records(session, instants) if name == "email_records" else [make(at) for at in instants]
        session.add_all(rows)

    db.run(add)


def count(db, name: str) -> int:
    model, _ = MAKERS[name]
    query = select(func.count()).select_from(model)
    if model is AuditEntry:  # purges add their own audit entries: count only seeded ones
        query = query.where(AuditEntry.action == "seed")
    if model is PurgeRun:
        query = query.where(PurgeRun.actor == "seed")
    if model is EmailRecord:  # the record stays; its tracking data is what goes
        query = query.where(EmailRecord.tracking_data_purged_at.is_(None))
    return db.run(lambda session: session.scalar(query))


def purge(db, **kwargs: Any) -> PurgeRun | None:
    kwargs.setdefault("trigger", "manual")
    kwargs.setdefault("actor", "test")

    async def go() -> PurgeRun | None:
        engine = create_engine(db.url)
        try:
            return await service.purge(engine, **kwargs)
        finally:
            await engine.dispose()

    return asyncio.run(go())

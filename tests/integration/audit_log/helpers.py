"""Arranging audit entries, and reading the chain back, in the test database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freezegun import freeze_time
from sqlalchemy import select, text

from governance.audit_log.verify import Verification, verify
from governance.core import audit
from governance.core.audit import AuditEntry


def append(db, count: int = 1, *, at: datetime | None = None, action: str = "policy.publish", **details: Any) -> None:
    """`count` entries, each in its own transaction (at a frozen instant when `at` is given)."""

    async def one(session, n: int) -> None:
        await audit.record(session, actor="staff@example.test", action=action, subject=f"thing {n}", n=n, **details)

    for n in range(count):
        if at is None:
            db.run(lambda s, n=n: one(s, n))
        else:
            with freeze_time(at, real_asyncio=True):
                db.run(lambda s, n=n: one(s, n))


def chain(db) -> list[AuditEntry]:
    return db.run(_all)


async def _all(session) -> list[AuditEntry]:
    return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def checked(db, **bounds: Any) -> Verification:
    return db.run(lambda s: verify(s, **bounds))


def execute(db, sql: str, **params: Any) -> None:
    db.run(lambda s: s.execute(text(sql), params))

"""The auditors' inventory: every declared cookie and storage key in force at an instant.

One row per declaration, from the policy version in force then (policy_docs' service and
cache: the same declarations the page, the allowlist and the guard use). Served as CSV or
JSON through `governance.core.exports`; every export goes to the audit log. No HTTP here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit
from governance.core.errors import NotFound
from governance.inventory.schemas import InventoryRow
from policy_docs.schemas import PolicySnapshot

COLUMNS = InventoryRow.__struct_fields__


def rows(snapshot: PolicySnapshot) -> list[dict[str, Any]]:
    return [
        {
            "kind": d.kind,
            "name": d.name,
            "match": d.match,
            "category": d.category,
            "duration_text": d.duration.text,
            "duration_seconds": d.duration.seconds,
            "duration_kind": d.duration.kind,
            "http_only": d.http_only,
            "secure": d.secure,
            "same_site": d.same_site,
            "domain": d.domain,
            "path": d.path,
            "purpose": d.purpose,
            "provider": d.provider,
            "policy_version": snapshot.number,
            "effective_from": snapshot.effective_from.isoformat(),
            "content_hash": snapshot.content_hash,
        }
        for d in snapshot.declarations
    ]


async def record_export(session: AsyncSession, actor: str, snapshot: PolicySnapshot, at: datetime, fmt: str) -> None:
    await audit.record(
        session, actor=actor, action="inventory.export", subject=f"{snapshot.document} v{snapshot.number}",
        at=at.isoformat(), format=fmt, rows=len(snapshot.declarations), content_hash=snapshot.content_hash,
    )  # fmt: skip


def filename(snapshot: PolicySnapshot, at: datetime) -> str:
    return f"cookie-inventory-{at:%Y%m%dT%H%M%SZ}-v{snapshot.number}"


def in_force(snapshot: PolicySnapshot | None, at: datetime) -> PolicySnapshot:
    if snapshot is None:
        raise NotFound(f"no version of the cookie policy was in force at {at.isoformat()}")
    return snapshot

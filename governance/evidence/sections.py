"""What an evidence bundle holds, section by section. Each section is an async function of the
`Evidence` being gathered that returns its files; `SECTIONS` lists them in bundle order.

Adding a section is one function here and one line in SECTIONS; the manifest, SHA256SUMS and README
pick it up by themselves.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from advanced_alchemy.filters import LimitOffset, OrderBy
from sqlalchemy.ext.asyncio import AsyncSession

from governance.audit_log import service as audit_log
from governance.audit_log.schemas import COLUMNS as AUDIT_COLUMNS
from governance.audit_log.verify import verify
from governance.core.exports import to_csv
from governance.core.params import Period
from governance.core.schemas import views
from governance.enforcement import drift
from governance.enforcement import service as enforcement
from governance.enforcement.schemas import VIOLATION_COLUMNS, DriftItemView, ViolationView
from governance.inventory import service as inventory
from governance.retention.models import PurgeRun
from governance.retention.schemas import RUN_COLUMNS, PurgeRunView
from governance.retention.service import PurgeRunService
from policy_docs.pages import page_as_in_force
from policy_docs.schemas import PolicySnapshot

DRIFT_COLUMNS = DriftItemView.__struct_fields__
MAX_ROWS = 1_000_000  # of one listing; beyond it the manifest says the listing is incomplete


@dataclass(frozen=True)
class BundleFile:
    path: str
    data: bytes


@dataclass
class Evidence:
    """What is being gathered: the instant, the period (since the version in force then took effect,
    unless asked otherwise, until that instant) and that version. Sections add facts to `summary`."""

    session: AsyncSession
    at: datetime
    period: Period
    published: PolicySnapshot  # the version as published: what its content hash is of
    snapshot: PolicySnapshot  # as this deployment applies it (token-in-body items only where the mode is on)
    summary: dict[str, Any] = field(default_factory=dict)


Section = Callable[[Evidence], Awaitable[list[BundleFile]]]


def _json(value: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"


def _table(base: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[BundleFile]:
    """A listing as CSV (for spreadsheets) and JSON (for programs)."""
    return [
        BundleFile(f"{base}.csv", to_csv(columns, rows).encode()),
        BundleFile(f"{base}.json", _json([{c: row.get(c) for c in columns} for row in rows])),
    ]


async def policy(evidence: Evidence) -> list[BundleFile]:
    """The version in force: its page, its JSON, and its content exactly as hashed (`sha256sum content.json`
    gives the version's content hash)."""
    snapshot = evidence.published
    evidence.summary["policy"] = {
        "document": snapshot.document,
        "number": snapshot.number,
        "effective_from": snapshot.effective_from.isoformat(),
        "content_hash": snapshot.content_hash,
    }
    return [
        BundleFile("policy/page.html", page_as_in_force(snapshot).encode()),
        BundleFile("policy/version.json", _json(snapshot)),
        BundleFile("policy/content.json", msgspec.json.encode(snapshot.content, order="deterministic")),
    ]


async def inventory_section(evidence: Evidence) -> list[BundleFile]:
    rows = inventory.rows(evidence.snapshot)
    evidence.summary["inventory"] = {"rows": len(rows)}
    return _table("inventory/inventory", inventory.COLUMNS, rows)


async def drift_section(evidence: Evidence) -> list[BundleFile]:
    """Every undeclared or mis-declared item seen during the period, whatever saw it, dismissed or not."""
    items = await drift.drift_of_period(evidence.session, evidence.period)
    evidence.summary["drift"] = {"items": len(items), "open": sum(item.status == "open" for item in items)}
    rows = [{**msgspec.structs.asdict(i), "observed": json.dumps(i.observed)} for i in items]
    return [
        BundleFile("drift/drift.csv", to_csv(DRIFT_COLUMNS, rows).encode()),
        BundleFile("drift/drift.json", _json(items)),
    ]


async def violations(evidence: Evidence) -> list[BundleFile]:
    """Violations seen during the period."""
    found, total = await enforcement.page_of_violations(
        evidence.session, LimitOffset(limit=MAX_ROWS, offset=0), evidence.period
    )
    rows = [msgspec.structs.asdict(v) for v in views(ViolationView, found)]
    evidence.summary["violations"] = {"rows": len(rows), "complete": len(rows) == total}
    return _table("violations/violations", VIOLATION_COLUMNS, rows)


async def purge_runs(evidence: Evidence) -> list[BundleFile]:
    """Retention purges started during the period."""
    since, until = evidence.period.since, evidence.period.until
    window = [PurgeRun.started_at < until] if until else []
    if since is not None:
        window.append(PurgeRun.started_at >= since)
    found, total = await PurgeRunService(session=evidence.session).get_many_and_count(
        LimitOffset(limit=MAX_ROWS, offset=0), OrderBy("id", "asc"), *window
    )
    runs = [PurgeRunView.of(run) for run in found]
    rows = [
        {**msgspec.structs.asdict(r), "cutoffs": json.dumps(r.cutoffs), "deleted": json.dumps(r.deleted)} for r in runs
    ]
    evidence.summary["purge_runs"] = {"rows": len(rows), "complete": len(rows) == total}
    return [
        BundleFile("retention/purge-runs.csv", to_csv(RUN_COLUMNS, rows).encode()),
        BundleFile("retention/purge-runs.json", _json(runs)),
    ]


async def audit_log_segment(evidence: Evidence) -> list[BundleFile]:
    """The audit log of the period, oldest first, with the verification of that stretch of the chain."""
    filters = audit_log.Filters(evidence.period)
    entries = [entry async for entry in audit_log.stream_entries(evidence.session, filters)]
    result = await verify(evidence.session, since=evidence.period.since, until=evidence.period.until)
    evidence.summary["audit_log"] = {
        "entries": len(entries),
        "holds": result.holds,
        "verification": result.sentence,
        "head_hash": result.head_hash,
    }
    return [
        BundleFile("audit-log/entries.csv", to_csv(AUDIT_COLUMNS, [audit_log.csv_row(e) for e in entries]).encode()),
        BundleFile("audit-log/entries.json", _json(entries)),
        BundleFile(
            "audit-log/verification.json", _json({**msgspec.structs.asdict(result), "sentence": result.sentence})
        ),
    ]


# Bundle order.
SECTIONS: list[tuple[str, Section]] = [
    ("policy", policy),
    ("inventory", inventory_section),
    ("drift", drift_section),
    ("violations", violations),
    ("purge_runs", purge_runs),
    ("audit_log", audit_log_segment),
]

"""Drift in one place: every undeclared or mis-declared item seen, whatever saw it (the Set-Cookie
guard, request cookies, browser reports, audits). No HTTP.

One `DriftItem` per (kind, name), kept current as sightings arrive (`observe`, called in the same
transaction as what recorded them). Staff dismiss an item with a reason (it stays dismissed until
it is seen again after the dismissal) or start a policy draft that declares it, pre-filled from
what was observed. `drift_of_period` is the evidence bundle's section.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast, get_args

import msgspec
from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, String, and_, or_, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit, batches
from governance.core.clock import as_utc, utcnow
from governance.core.errors import Conflict, FieldError, Invalid, NotFound
from governance.core.params import Period
from governance.enforcement.models import DriftItem
from governance.enforcement.schemas import DriftItemView, DriftSource, DriftStatus
from policy_docs import service as policy_service
from policy_docs.models import PolicyVersion
from policy_docs.schemas import Declaration, DeclarationKind, DraftCreate, DraftPatch, Duration, PolicySnapshot

MAX_PAGES = 20  # distinct pages kept per item, the most recent
MAX_PAGE_LENGTH = 1024
DECLARABLE: tuple[str, ...] = get_args(DeclarationKind)
DAY = 24 * 3600


class DriftSighting(msgspec.Struct, frozen=True, kw_only=True):
    """One thing seen that the policy does not allow as it was (never a value)."""

    kind: str
    name: str
    reason: str  # undeclared | http_only | secure | same_site | domain | path | duration | mismatch | third_party
    source: DriftSource
    seen_at: datetime
    page: str = ""
    count: int = 1
    policy_version: int | None = None
    observed: dict[str, Any] | None = None  # a cookie's attributes (ObservedCookie), with its host for audits


class DriftService(SQLAlchemyAsyncRepositoryService[DriftItem]):
    class Repository(SQLAlchemyAsyncRepository[DriftItem]):
        model_type = DriftItem

    repository_type = Repository


# --- recording ------------------------------------------------------------------------------------


async def observe(session: AsyncSession, sightings: Iterable[DriftSighting]) -> None:
    """Fold sightings into their items. New items are inserted first (a no-op where another writer
    was quicker), then every item is read locked, in key order, and merged: concurrent writers on
    PostgreSQL wait for each other instead of losing counts; SQLite has one writer anyway."""
    grouped: dict[tuple[str, str], list[DriftSighting]] = {}
    for s in sightings:
        grouped.setdefault((s.kind, s.name[:255]), []).append(s)
    if not grouped:
        return
    keys = sorted(grouped)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    first = {key: min(s.seen_at for s in found) for key, found in grouped.items()}
    new = [
        {"kind": k, "name": n, "reasons": [], "sources": [], "pages": [], "count": 0, "first_seen_at": first[(k, n)],
         "last_seen_at": first[(k, n)]}
        for k, n in keys
    ]  # fmt: skip
    await session.execute(insert(DriftItem).values(new).on_conflict_do_nothing(index_elements=["kind", "name"]))
    query = (
        select(DriftItem)
        .where(tuple_(DriftItem.kind, DriftItem.name).in_(keys))
        .order_by(DriftItem.kind, DriftItem.name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for item in await session.scalars(query):
        _merge(item, grouped[(item.kind, item.name)])
    await session.flush()


def _merge(item: DriftItem, sightings: list[DriftSighting]) -> None:
    ordered = sorted(sightings, key=lambda s: s.seen_at)
    item.count += sum(s.count for s in ordered)
    item.reasons = sorted({*item.reasons, *(s.reason for s in ordered)})
    item.sources = sorted({*item.sources, *(s.source for s in ordered)})
    item.first_seen_at = min(as_utc(item.first_seen_at), ordered[0].seen_at)
    latest = ordered[-1]
    if latest.seen_at >= as_utc(item.last_seen_at):
        item.last_seen_at = latest.seen_at
        item.policy_version = latest.policy_version
    seen = list(dict.fromkeys(s.page[:MAX_PAGE_LENGTH] for s in ordered if s.page))
    item.pages = [*(p for p in item.pages if p not in seen), *seen][-MAX_PAGES:]
    observed = next((s.observed for s in reversed(ordered) if s.observed), None)
    if observed is not None:
        item.observed = observed


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Retention: items not seen since `cutoff` (seen again later, an item starts afresh)."""
    return await batches.delete_oldest(session, DriftItem, DriftItem.last_seen_at, cutoff, limit)


async def count_before(session: AsyncSession, cutoff: datetime) -> int:
    return await batches.count_before(session, DriftItem.last_seen_at, cutoff)


# --- reading --------------------------------------------------------------------------------------


def _dismissed() -> ColumnElement[bool]:
    return and_(DriftItem.dismissed_at.is_not(None), DriftItem.dismissed_at >= DriftItem.last_seen_at)


def _filters(
    period: Period, kind: str | None, source: DriftSource | None, status: DriftStatus | None, name: str | None
) -> list[ColumnElement[bool]]:
    found = period.overlaps(DriftItem.first_seen_at, DriftItem.last_seen_at)
    if kind is not None:
        found.append(DriftItem.kind == kind)
    if name is not None:
        found.append(DriftItem.name == name)
    if source is not None:  # the names are fixed identifiers: a match of the quoted name in the JSON list
        found.append(sql_cast(DriftItem.sources, String).like(f'%"{source}"%'))
    if status == "dismissed":
        found.append(_dismissed())
    elif status == "open":
        found.append(or_(DriftItem.dismissed_at.is_(None), DriftItem.dismissed_at < DriftItem.last_seen_at))
    return found


async def page_of_drift(
    session: AsyncSession,
    page: LimitOffset,
    period: Period,
    *,
    kind: str | None = None,
    source: DriftSource | None = None,
    status: DriftStatus | None = "open",
    name: str | None = None,
) -> tuple[list[DriftItemView], int]:
    """A page of drift, most recently seen first, and how many items match. A period keeps the items
    seen during it (last seen after `since`, first seen before `until`)."""
    rows, total = await DriftService(session=session).get_many_and_count(
        page,
        OrderBy("last_seen_at", "desc"),
        OrderBy("id", "desc"),
        *_filters(period, kind, source, status, name),
    )
    return await _views(session, list(rows)), total


async def drift_of_period(session: AsyncSession, period: Period) -> list[DriftItemView]:
    """Every item seen during the period, dismissed or not, most recently seen first (evidence bundles)."""
    rows = await DriftService(session=session).get_many(
        OrderBy("last_seen_at", "desc"), OrderBy("id", "desc"), *_filters(period, None, None, None, None)
    )
    return await _views(session, list(rows))


async def _views(session: AsyncSession, rows: list[DriftItem]) -> list[DriftItemView]:
    in_force = await policy_service.snapshot_at(session, utcnow())
    drafts = [(str(d.id), policy_service.content_of(d).declarations) for d in await _drafts(session)]
    return [_view(row, in_force, drafts) for row in rows]


async def _drafts(session: AsyncSession) -> list[PolicyVersion]:
    try:
        return await policy_service.list_drafts(session)
    except NotFound:  # no policy document yet
        return []


def _declares(declarations: Iterable[Declaration], kind: str, name: str) -> bool:
    return kind in DECLARABLE and any(d.matches(cast("DeclarationKind", kind), name) for d in declarations)


def _view(
    row: DriftItem, in_force: PolicySnapshot | None, drafts: list[tuple[str, list[Declaration]]]
) -> DriftItemView:
    dismissed = row.dismissed_at is not None and as_utc(row.dismissed_at) >= as_utc(row.last_seen_at)
    return DriftItemView(
        id=row.id,
        kind=row.kind,
        name=row.name,
        status="dismissed" if dismissed else "open",
        reasons=list(row.reasons),
        sources=list(row.sources),
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        count=row.count,
        pages=list(row.pages),
        policy_version=row.policy_version,
        declared_in_force=in_force is not None and _declares(in_force.declarations, row.kind, row.name),
        declared_by_drafts=[draft_id for draft_id, declared in drafts if _declares(declared, row.kind, row.name)],
        observed=row.observed,
        dismissed_at=row.dismissed_at,
        dismissed_by=row.dismissed_by,
        dismissal_reason=row.dismissal_reason,
    )


async def item(session: AsyncSession, item_id: int) -> DriftItemView:
    return (await _views(session, [await _row(session, item_id)]))[0]


async def _row(session: AsyncSession, item_id: int) -> DriftItem:
    row = await session.get(DriftItem, item_id)
    if row is None:
        raise NotFound(f"no drift item {item_id}")
    return row


# --- acting on it ---------------------------------------------------------------------------------


async def dismiss(session: AsyncSession, item_id: int, *, reason: str, actor: str) -> DriftItemView:
    """Not drift, says `actor`: hidden from open drift until it is seen again after now. Audited."""
    row = await _row(session, item_id)
    if not reason.strip():
        raise Invalid("say why this item is not drift", errors=[FieldError("reason", "must not be blank")])
    at = utcnow()
    if row.dismissed_at is not None and as_utc(row.dismissed_at) >= as_utc(row.last_seen_at):
        raise Conflict(f"drift item {item_id} is already dismissed (since {as_utc(row.dismissed_at).isoformat()})")
    row.dismissed_at, row.dismissed_by, row.dismissal_reason = at, actor, reason.strip()
    await audit.record(
        session,
        actor=actor,
        action="drift.dismiss",
        subject=f"{row.kind} {row.name}",
        item=row.id,
        reason=row.dismissal_reason,
        last_seen_at=as_utc(row.last_seen_at).isoformat(),
        count=row.count,
    )
    await session.flush()
    return await item(session, item_id)


async def draft_declaring(session: AsyncSession, item_id: int, *, actor: str) -> PolicyVersion:
    """A policy draft (from the latest published version) that declares the item as it was observed,
    or, for a mis-declared item, with its declaration changed to what was observed. Purpose and
    category are for staff to confirm: the draft's problems list what is left. Audited."""
    row = await _row(session, item_id)
    if row.kind not in DECLARABLE:
        raise Invalid(
            f"{row.kind} items cannot be declared: the policy declares cookies, localStorage and sessionStorage keys",
            errors=[FieldError("kind", f"{row.kind} is not a declaration kind")],
        )
    if not row.name:
        raise Invalid("a cookie without a name cannot be declared: remove it from the site instead")
    summary = (
        f"Declare {row.name} ({row.kind}), seen by {', '.join(row.sources)} since {as_utc(row.first_seen_at):%Y-%m-%d}"
    )
    draft = await policy_service.create_draft(session, DraftCreate(change_summary=summary, material=True), actor)
    content = policy_service.content_of(draft)
    declaration = proposed(row, content.declarations)
    draft = await policy_service.edit_draft(session, draft.id, DraftPatch(upsert_declarations=[declaration]), actor)
    await audit.record(
        session, actor=actor, action="drift.draft", subject=f"{row.kind} {row.name}", item=row.id, draft=str(draft.id)
    )
    return draft


def proposed(row: DriftItem, declarations: list[Declaration]) -> Declaration:
    """The declaration a draft starts from: the one in force for this name with the observed attributes,
    or a new one: the category of the other items of its kind, and no purpose (staff write it)."""
    kind = cast("DeclarationKind", row.kind)
    existing = next((d for d in declarations if d.matches(kind, row.name)), None)
    observed = row.observed or {}
    if existing is not None:
        base = (
            existing if existing.match == "exact" else msgspec.structs.replace(existing, name=row.name, match="exact")
        )
        if kind != "cookie":
            return base
        changes = _cookie_attributes(observed)
        if "lifetime_s" in observed:
            changes["duration"] = _duration(kind, observed)
        return msgspec.structs.replace(base, **changes)
    category = _category(kind, declarations)
    host = observed.get("host")
    attributes = _cookie_attributes(observed) if kind == "cookie" else {}
    return Declaration(
        kind=kind,
        name=row.name,
        category=category,
        duration=_duration(kind, observed),
        purpose="",
        provider=f"third party ({host})" if host and "third_party" in row.reasons else "first party",
        **attributes,
    )


def _category(kind: str, declarations: list[Declaration]) -> str:
    """Where the policy lists items like it: its kind's category, else (storage) another storage kind's."""
    alike = [kind] if kind == "cookie" else [kind, "local_storage", "session_storage"]
    for candidate in alike:
        found = next((d.category for d in declarations if d.kind == candidate), None)
        if found is not None:
            return found
    return declarations[0].category if declarations else "strictly necessary"


def _cookie_attributes(observed: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field in ("http_only", "secure", "path", "domain"):
        if observed.get(field) is not None:
            found[field] = observed[field]
    if observed.get("same_site") in ("lax", "strict", "none"):
        found["same_site"] = observed["same_site"]
    return found


def _duration(kind: str, observed: dict[str, Any]) -> Duration:
    if kind == "session_storage":
        return Duration(kind="session", text="Until the tab is closed")
    if kind == "local_storage":
        return Duration(kind="persistent", text="Persistent until cleared")
    lifetime = observed.get("lifetime_s")
    if not isinstance(lifetime, int) or lifetime <= 0:
        return Duration(kind="session", text="Session (until the browser closes)")
    days = round(lifetime / DAY)
    text = f"{days} days" if days >= 2 else f"{max(1, round(lifetime / 3600))} hour(s)"
    return Duration(kind="seconds", seconds=lifetime, text=text)

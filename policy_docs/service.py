"""Rules of the policy's life: the version in force at an instant, drafts, validation, publishing.

No HTTP here: functions take an `AsyncSession` and raise governance.core.errors (NotFound,
Conflict, Invalid). Hot paths (the page, the guard) go through `policy_docs.cache`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit
from governance.core.audit import AuditAction
from governance.core.batches import affected
from governance.core.clock import as_utc
from governance.core.clock import utcnow as now
from governance.core.errors import Conflict, FieldError, Invalid, NotFound
from policy_docs import diff, validation
from policy_docs.models import DRAFT, PUBLISHED, WITHDRAWN, PolicyDocument, PolicyVersion
from policy_docs.patch import apply_patch
from policy_docs.schemas import (
    DraftCreate,
    DraftDiff,
    DraftPatch,
    PolicyContent,
    PolicySnapshot,
    PublishRequest,
    VersionSummary,
    WithdrawnVersion,
)
from policy_docs.seed import load_seed

COOKIE_POLICY = "cookie-policy"
SEED_ACTOR = "system:seed"


def invalid_draft(problems: list[FieldError]) -> Invalid:
    return Invalid(f"the draft cannot be published: {len(problems)} problem(s)", errors=problems)


def content_hash(content: PolicyContent) -> str:
    return hashlib.sha256(msgspec.json.encode(content, order="deterministic")).hexdigest()


def snapshot_of(version: PolicyVersion, document: str = COOKIE_POLICY) -> PolicySnapshot:
    content = msgspec.convert(version.content, PolicyContent)
    return PolicySnapshot(
        document=document,
        number=version.number,  # type: ignore[arg-type]
        effective_from=version.effective_from,  # type: ignore[arg-type]
        last_updated=version.last_updated,  # type: ignore[arg-type]
        content_hash=version.content_hash,  # type: ignore[arg-type]
        published_at=version.published_at,  # type: ignore[arg-type]
        change_summary=version.change_summary,
        material=version.material,
        **msgspec.structs.asdict(content),
    )


def summary_of(snapshot: PolicySnapshot, in_force: int | None) -> VersionSummary:
    status: Literal["in_force", "scheduled", "superseded"]
    if in_force is None or snapshot.number > in_force:
        status = "scheduled"
    elif snapshot.number == in_force:
        status = "in_force"
    else:
        status = "superseded"
    return VersionSummary(
        number=snapshot.number,
        status=status,
        effective_from=snapshot.effective_from,
        last_updated=snapshot.last_updated,
        change_summary=snapshot.change_summary,
        material=snapshot.material,
        content_hash=snapshot.content_hash,
        published_at=snapshot.published_at,
    )


# --- reading published versions -----------------------------------------------------------------


def _published(document: str) -> Select[tuple[PolicyVersion]]:
    return (
        select(PolicyVersion)
        .join(PolicyDocument, PolicyDocument.id == PolicyVersion.document_id)
        .where(PolicyDocument.slug == document, PolicyVersion.status == PUBLISHED)
    )


async def snapshot_at(session: AsyncSession, at: datetime, document: str = COOKIE_POLICY) -> PolicySnapshot | None:
    """The published version in force at `at`: the latest `effective_from <= at`; None before the first."""
    query = _published(document).where(PolicyVersion.effective_from <= as_utc(at))
    version = await session.scalar(query.order_by(PolicyVersion.effective_from.desc()).limit(1))
    return snapshot_of(version, document) if version else None


async def next_change_after(session: AsyncSession, at: datetime, document: str = COOKIE_POLICY) -> datetime | None:
    """The next scheduled `effective_from` after `at`, if a version is scheduled."""
    query = _published(document).where(PolicyVersion.effective_from > as_utc(at))
    return await session.scalar(
        query.with_only_columns(PolicyVersion.effective_from).order_by(PolicyVersion.effective_from).limit(1)
    )


async def published_version(session: AsyncSession, number: int, document: str = COOKIE_POLICY) -> PolicySnapshot:
    version = await session.scalar(_published(document).where(PolicyVersion.number == number))
    if version is None:
        raise NotFound(f"{document} has no published version {number}")
    return snapshot_of(version, document)


async def published_versions(
    session: AsyncSession, document: str = COOKIE_POLICY, numbers: list[int] | None = None
) -> list[PolicySnapshot]:
    query = _published(document).order_by(PolicyVersion.number)
    if numbers is not None:
        query = query.where(PolicyVersion.number.in_(numbers))
    return [snapshot_of(v, document) for v in await session.scalars(query)]


async def timeline(session: AsyncSession, document: str = COOKIE_POLICY) -> list[tuple[datetime, int]]:
    """(effective_from, number) of every published version, oldest first: all the cache needs."""
    query = _published(document).with_only_columns(PolicyVersion.effective_from, PolicyVersion.number)
    rows = await session.execute(query.order_by(PolicyVersion.effective_from))
    return [(as_utc(effective), number) for effective, number in rows]


# --- seeding ------------------------------------------------------------------------------------


async def ensure_seeded(session: AsyncSession, document: str = COOKIE_POLICY) -> bool:
    """Create the document and its version 1 from the data files, unless a version exists.

    Two instances starting at once: the unique slug and (document, number) make the slower
    one fail with IntegrityError; the caller rolls back and carries on.
    """
    existing = await session.scalar(select(PolicyDocument).where(PolicyDocument.slug == document))
    if existing is not None:
        return False
    seed = load_seed(document)
    row = PolicyDocument(slug=document, title=seed.content.title)
    session.add(row)
    await session.flush()
    session.add(
        PolicyVersion(
            document_id=row.id,
            status=PUBLISHED,
            number=1,
            content=msgspec.to_builtins(seed.content),
            content_hash=content_hash(seed.content),
            change_summary=seed.change_summary,
            material=seed.material,
            effective_from=seed.effective_from,
            last_updated=seed.last_updated,
            created_by=SEED_ACTOR,
            published_at=now(),
            published_by=SEED_ACTOR,
        )
    )
    await session.flush()
    await audit.record(
        session,
        actor=SEED_ACTOR,
        action=AuditAction.POLICY_PUBLISH,
        subject=f"{document} v1",
        number=1,
        content_hash=content_hash(seed.content),
        effective_from=seed.effective_from.isoformat(),
        seeded=True,
    )
    return True


async def seed_safely(session: AsyncSession, document: str = COOKIE_POLICY) -> bool:
    """`ensure_seeded` in its own transaction, losing a race to another instance quietly."""
    try:
        created = await ensure_seeded(session, document)
        await session.commit()
        return created
    except IntegrityError:
        await session.rollback()
        return False


# --- drafts -------------------------------------------------------------------------------------


async def _document(session: AsyncSession, document: str) -> PolicyDocument:
    row = await session.scalar(select(PolicyDocument).where(PolicyDocument.slug == document))
    if row is None:
        raise NotFound(f"no document {document!r}")
    return row


def content_of(version: PolicyVersion) -> PolicyContent:
    return msgspec.convert(version.content, PolicyContent)


async def create_draft(
    session: AsyncSession, data: DraftCreate, actor: str, document: str = COOKIE_POLICY
) -> PolicyVersion:
    """A draft copies a published version: by default the latest one (the scheduled one if there
    is one, so its changes are not lost when the draft supersedes it)."""
    doc = await _document(session, document)
    query = _published(document).order_by(PolicyVersion.number.desc()).limit(1)
    if data.based_on is not None:
        query = _published(document).where(PolicyVersion.number == data.based_on)
    base = await session.scalar(query)
    if base is None:
        raise NotFound(f"{document} has no published version {data.based_on or ''}".strip())
    draft = PolicyVersion(
        document_id=doc.id,
        status=DRAFT,
        based_on=base.number,
        content=base.content,
        change_summary=data.change_summary,
        material=data.material,
        created_by=actor,
    )
    session.add(draft)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.POLICY_DRAFT_CREATE,
        subject=_draft_subject(document, draft),
        based_on=base.number,
        change_summary=data.change_summary,
        material=data.material,
    )
    return draft


def _draft_subject(document: str, draft: PolicyVersion) -> str:
    return f"{document} draft {draft.id}"


async def get_draft(session: AsyncSession, draft_id: UUID) -> PolicyVersion:
    """The draft with this id; Conflict when it has been published (published versions are immutable)."""
    version = await session.get(PolicyVersion, draft_id)
    if version is None:
        raise NotFound(f"no draft {draft_id}")
    if version.status != DRAFT:
        raise Conflict(
            f"version {version.number} is {version.status} and cannot be changed; create a draft to supersede it"
        )
    return version


async def list_drafts(session: AsyncSession, document: str = COOKIE_POLICY) -> list[PolicyVersion]:
    doc = await _document(session, document)
    query = select(PolicyVersion).where(PolicyVersion.document_id == doc.id, PolicyVersion.status == DRAFT)
    return list(await session.scalars(query.order_by(PolicyVersion.created_at)))


async def edit_draft(
    session: AsyncSession, draft_id: UUID, patch: DraftPatch, actor: str, document: str = COOKIE_POLICY
) -> PolicyVersion:
    """Apply `patch` (see DraftPatch: items by key, whole lists only when asked); audited with what
    changed, by name, not the content itself."""
    draft = await get_draft(session, draft_id)
    if patch.expected_revision is not None and patch.expected_revision != draft.revision:
        raise Conflict(f"the draft changed since revision {patch.expected_revision} (now {draft.revision}); reload it")
    before = content_of(draft)
    after = apply_patch(before, patch)
    metadata = {
        field: (getattr(draft, field), value)
        for field in ("change_summary", "material")
        if (value := getattr(patch, field)) is not None and value != getattr(draft, field)
    }
    draft.content = msgspec.to_builtins(after)
    for field, (_, value) in metadata.items():
        setattr(draft, field, value)
    # A conditional update: of two concurrent edits of the same revision, one wins, the other gets 409.
    result = await session.execute(
        update(PolicyVersion)
        .where(PolicyVersion.id == draft.id, PolicyVersion.revision == draft.revision, PolicyVersion.status == DRAFT)
        .values(revision=draft.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if affected(result) != 1:
        raise Conflict("someone else changed or published this draft at the same moment; reload it")
    draft.revision += 1
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.POLICY_DRAFT_EDIT,
        subject=_draft_subject(document, draft),
        revision=draft.revision,
        changes=diff.summary(before, after),
        **{field: {"old": old, "new": new} for field, (old, new) in metadata.items()},
    )
    return draft


async def delete_draft(session: AsyncSession, draft_id: UUID, actor: str, document: str = COOKIE_POLICY) -> None:
    draft = await get_draft(session, draft_id)
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.POLICY_DRAFT_DELETE,
        subject=_draft_subject(document, draft),
        based_on=draft.based_on,
        revision=draft.revision,
        change_summary=draft.change_summary,
    )
    await session.delete(draft)
    await session.flush()


def draft_problems(draft: PolicyVersion) -> list[FieldError]:
    problems = validation.problems(content_of(draft))
    if not draft.change_summary.strip():
        problems.append(
            FieldError("change_summary", "the change summary is empty: say what changed, for the version history")
        )
    return problems


async def draft_diff(session: AsyncSession, draft_id: UUID) -> DraftDiff:
    """What the draft changes in the version it was started from (which may have been withdrawn since)."""
    draft = await get_draft(session, draft_id)
    base = await session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.document_id == draft.document_id, PolicyVersion.number == draft.based_on
        )
    )
    if base is None:
        raise NotFound(f"the draft's base version {draft.based_on} no longer exists")
    return DraftDiff(
        draft_id=str(draft.id),
        revision=draft.revision,
        based_on=base.number,  # type: ignore[arg-type]
        **diff.changes(content_of(base), content_of(draft)),
    )


# --- publishing ---------------------------------------------------------------------------------


async def publish(
    session: AsyncSession, draft_id: UUID, request: PublishRequest, actor: str, document: str = COOKIE_POLICY
) -> PolicySnapshot:
    """Publish a draft now or at a future `effective_from`, as the next version number.

    Concurrency: a write on the document row comes first, which serializes publishes of one
    document on both engines (row lock on PostgreSQL, the database write lock on SQLite); the
    draft's status is then flipped with a conditional UPDATE, and the unique (document, number)
    constraint backs both up. A lost race is a Conflict (409), never a duplicate number.
    """
    draft = await get_draft(session, draft_id)
    if request.change_summary is not None:
        draft.change_summary = request.change_summary
    if request.material is not None:
        draft.material = request.material
    await session.execute(update(PolicyDocument).where(PolicyDocument.id == draft.document_id).values(updated_at=now()))
    published_at = now()  # read after taking the lock, so "publish now" times increase with numbers
    effective = _effective_instant(request.effective_from, published_at)
    last_updated = request.last_updated or published_at.date()
    # Numbers are never reused, so a withdrawn version keeps its own; only published ones take effect.
    latest_number = await session.scalar(
        select(func.max(PolicyVersion.number)).where(PolicyVersion.document_id == draft.document_id)
    )
    latest_effective = await session.scalar(
        select(func.max(PolicyVersion.effective_from)).where(
            PolicyVersion.document_id == draft.document_id, PolicyVersion.status == PUBLISHED
        )
    )
    problems = draft_problems(draft) + _schedule_problems(effective, published_at, latest_effective)
    if problems:
        raise invalid_draft(problems)

    content = content_of(draft)
    number, digest = (latest_number or 0) + 1, content_hash(content)
    values = {
        "status": PUBLISHED,
        "number": number,
        "content_hash": digest,
        "effective_from": effective,
        "last_updated": last_updated,
        "published_at": published_at,
        "published_by": actor,
        "change_summary": draft.change_summary,
        "material": draft.material,
    }
    try:
        result = await session.execute(
            update(PolicyVersion)
            .where(PolicyVersion.id == draft.id, PolicyVersion.status == DRAFT)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:
        raise Conflict(f"another version {number} was published at the same moment; publish again") from None
    if affected(result) != 1:
        raise Conflict("this draft was published by someone else at the same moment")
    await session.refresh(draft)
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.POLICY_PUBLISH,
        subject=f"{document} v{number}",
        number=number,
        content_hash=digest,
        effective_from=effective.isoformat(),
        material=draft.material,
        change_summary=draft.change_summary,
    )
    return snapshot_of(draft, document)


MAX_SCHEDULE_AHEAD = timedelta(days=10 * 366)


def _effective_instant(requested: datetime | None, published_at: datetime) -> datetime:
    """`effective_from` in UTC (now when omitted); an instant no calendar can hold is a 422, not a crash."""
    if requested is None:
        return published_at
    try:
        effective = as_utc(requested)
    except OverflowError:
        effective = None
    if effective is None or effective - published_at > MAX_SCHEDULE_AHEAD:
        problem = "schedule a version at most 10 years ahead"
        raise Invalid(f"effective_from: {problem}", errors=[FieldError("effective_from", problem)])
    return effective


def _schedule_problems(
    effective: datetime, published_at: datetime, latest_effective: datetime | None
) -> list[FieldError]:
    found = []
    if effective < published_at - timedelta(minutes=1):
        found.append(
            FieldError(
                "effective_from", "it is in the past: publish now, or at a future instant (history is not rewritten)"
            )
        )
    if latest_effective is not None and effective <= as_utc(latest_effective):
        found.append(
            FieldError(
                "effective_from",
                f"it must be after {as_utc(latest_effective).isoformat()}, when the latest published version takes effect",
            )
        )
    return found


# --- withdrawing --------------------------------------------------------------------------------


async def withdraw(
    session: AsyncSession, number: int, reason: str, actor: str, document: str = COOKIE_POLICY
) -> WithdrawnVersion:
    """Take back a scheduled version before its instant. It keeps its number (numbers are never
    reused) and leaves every public view: history, page, allowlist, guard, inventory.

    Serialized with publishes by the same write on the document row; Conflict once the version is in
    force (or superseded) or when it is withdrawn already.
    """
    doc = await _document(session, document)
    if not reason.strip():
        raise Invalid("say why the version is withdrawn", errors=[FieldError("reason", "the reason is empty")])
    await session.execute(update(PolicyDocument).where(PolicyDocument.id == doc.id).values(updated_at=now()))
    version = await session.scalar(
        select(PolicyVersion).where(PolicyVersion.document_id == doc.id, PolicyVersion.number == number)
    )
    if version is None:
        raise NotFound(f"{document} has no version {number}")
    if version.status == WITHDRAWN:
        raise Conflict(f"version {number} was withdrawn already, at {as_utc(version.withdrawn_at).isoformat()}")  # type: ignore[arg-type]
    moment, effective = now(), as_utc(version.effective_from)  # type: ignore[arg-type]
    if effective <= moment:
        raise Conflict(
            f"version {number} took effect at {effective.isoformat()}: a version in force is superseded by publishing a new one, never withdrawn"
        )
    version.status, version.withdrawn_at, version.withdrawn_by = WITHDRAWN, moment, actor
    version.withdrawal_reason = reason.strip()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.POLICY_WITHDRAW,
        subject=f"{document} v{number}",
        number=number,
        reason=version.withdrawal_reason,
        effective_from=effective.isoformat(),
        content_hash=version.content_hash,
    )
    return WithdrawnVersion(
        number=number,
        status="withdrawn",
        effective_from=effective,
        content_hash=version.content_hash or "",
        withdrawn_at=moment,
        withdrawn_by=actor,
        reason=version.withdrawal_reason,
    )


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """A version as staff see it in the history: published ones and withdrawn ones, with who did it."""

    summary: VersionSummary
    published_by: str | None
    withdrawn: bool
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdrawal_reason: str | None


async def staff_history(
    session: AsyncSession, in_force: int | None, document: str = COOKIE_POLICY
) -> list[HistoryEntry]:
    """Every published or withdrawn version, newest first (the public history leaves withdrawn ones out)."""
    query = (
        select(PolicyVersion)
        .join(PolicyDocument, PolicyDocument.id == PolicyVersion.document_id)
        .where(PolicyDocument.slug == document, PolicyVersion.status.in_((PUBLISHED, WITHDRAWN)))
        .order_by(PolicyVersion.number.desc())
    )
    entries = []
    for version in await session.scalars(query):
        withdrawn = version.status == WITHDRAWN
        summary = summary_of(snapshot_of(version, document), None if withdrawn else in_force)
        entries.append(
            HistoryEntry(
                summary=summary,
                published_by=version.published_by,
                withdrawn=withdrawn,
                withdrawn_at=version.withdrawn_at,
                withdrawn_by=version.withdrawn_by,
                withdrawal_reason=version.withdrawal_reason,
            )
        )
    return entries


def preview_snapshot(draft: PolicyVersion, document: str = COOKIE_POLICY) -> PolicySnapshot:
    """A draft dressed as a version, for the preview page: dated as if published now."""
    content, moment = content_of(draft), now()
    return PolicySnapshot(
        document=document,
        number=0,
        effective_from=moment,
        last_updated=moment.date(),
        content_hash=content_hash(content),
        published_at=moment,
        change_summary=draft.change_summary,
        material=draft.material,
        **msgspec.structs.asdict(content),
    )

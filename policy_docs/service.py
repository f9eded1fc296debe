"""Rules of the policy's life: the version in force at an instant, drafts, validation, publishing.

No HTTP here: functions take an `AsyncSession` and raise governance.core.errors (NotFound,
Conflict, Invalid). Hot paths (the page, the guard) go through `policy_docs.cache`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit
from governance.core.batches import affected
from governance.core.clock import as_utc
from governance.core.clock import utcnow as now
from governance.core.errors import Conflict, FieldError, Invalid, NotFound
from policy_docs import validation
from policy_docs.models import DRAFT, PUBLISHED, PolicyDocument, PolicyVersion
from policy_docs.schemas import (
    DraftCreate,
    DraftPatch,
    PolicyContent,
    PolicySnapshot,
    PublishRequest,
    VersionSummary,
)
from policy_docs.seed import load_seed

COOKIE_POLICY = "cookie-policy"
SEED_ACTOR = "system:seed"


def invalid_draft(problems: list[str]) -> Invalid:
    return Invalid(
        f"the draft cannot be published: {len(problems)} problem(s)",
        errors=[FieldError(None, problem) for problem in problems],
    )


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
        action="policy.publish",
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
    return draft


async def get_draft(session: AsyncSession, draft_id: UUID) -> PolicyVersion:
    """The draft with this id; Conflict when it has been published (published versions are immutable)."""
    version = await session.get(PolicyVersion, draft_id)
    if version is None:
        raise NotFound(f"no draft {draft_id}")
    if version.status != DRAFT:
        raise Conflict(f"version {version.number} is published and cannot be changed; create a draft to supersede it")
    return version


async def list_drafts(session: AsyncSession, document: str = COOKIE_POLICY) -> list[PolicyVersion]:
    doc = await _document(session, document)
    query = select(PolicyVersion).where(PolicyVersion.document_id == doc.id, PolicyVersion.status == DRAFT)
    return list(await session.scalars(query.order_by(PolicyVersion.created_at)))


def apply_patch(content: PolicyContent, patch: DraftPatch) -> PolicyContent:
    declarations = list(patch.declarations if patch.declarations is not None else content.declarations)
    for new in patch.upsert_declarations:
        at = next((i for i, d in enumerate(declarations) if d.key == new.key), None)
        if at is None:
            declarations.append(new)
        else:
            declarations[at] = new
    removed = {(ref.kind, ref.name) for ref in patch.remove_declarations}
    declarations = [d for d in declarations if d.key not in removed]
    kept = {field: getattr(content, field) for field in ("title", "intro", "sections", "not_used", "contact")}
    changed = {field: getattr(patch, field) for field in kept if getattr(patch, field) is not None}
    return PolicyContent(**{**kept, **changed, "declarations": declarations})


async def edit_draft(session: AsyncSession, draft_id: UUID, patch: DraftPatch) -> PolicyVersion:
    draft = await get_draft(session, draft_id)
    if patch.expected_revision is not None and patch.expected_revision != draft.revision:
        raise Conflict(f"the draft changed since revision {patch.expected_revision} (now {draft.revision}); reload it")
    missing = [
        f"{r.name} ({r.kind})"
        for r in patch.remove_declarations
        if not any(d.key == (r.kind, r.name) for d in content_of(draft).declarations + patch.upsert_declarations)
    ]
    if missing:
        raise invalid_draft([f"cannot remove {item}: the draft does not declare it" for item in missing])
    draft.content = msgspec.to_builtins(apply_patch(content_of(draft), patch))
    if patch.change_summary is not None:
        draft.change_summary = patch.change_summary
    if patch.material is not None:
        draft.material = patch.material
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
    return draft


async def delete_draft(session: AsyncSession, draft_id: UUID) -> None:
    await session.delete(await get_draft(session, draft_id))
    await session.flush()


def draft_problems(draft: PolicyVersion) -> list[str]:
    problems = validation.problems(content_of(draft))
    if not draft.change_summary.strip():
        problems.append("the change summary is empty: say what changed, for the version history")
    return problems


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
    effective = as_utc(request.effective_from) if request.effective_from else published_at
    last_updated = request.last_updated or published_at.date()
    latest_number, latest_effective = (
        await session.execute(
            select(func.max(PolicyVersion.number), func.max(PolicyVersion.effective_from)).where(
                PolicyVersion.document_id == draft.document_id, PolicyVersion.status == PUBLISHED
            )
        )
    ).one()
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
        action="policy.publish",
        subject=f"{document} v{number}",
        number=number,
        content_hash=digest,
        effective_from=effective.isoformat(),
        material=draft.material,
        change_summary=draft.change_summary,
    )
    return snapshot_of(draft, document)


def _schedule_problems(effective: datetime, published_at: datetime, latest_effective: datetime | None) -> list[str]:
    found = []
    if effective < published_at - timedelta(minutes=1):
        found.append("effective_from is in the past: publish now, or at a future instant (history is not rewritten)")
    if latest_effective is not None and effective <= as_utc(latest_effective):
        found.append(
            f"effective_from must be after {as_utc(latest_effective).isoformat()}, when the latest published version takes effect"
        )
    return found


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

"""Tracking rules: domains and their settings, precedence, registration with rewriting,
suppressions, and an email's tracking after registration. No HTTP here.

Recording, reading and purging events: tracking.events.

Precedence, per kind (opens, clicks), most restrictive wins:
recipient address suppressed > recipient domain suppressed > domain setting off > email opts out.
The decision is fixed on the email record at registration. At hit time, an event is recorded
only if the email is still active for that kind, the domain still allows it and the recipient
has not been suppressed since.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast
from uuid import UUID

import msgspec
from advanced_alchemy.exceptions import IntegrityError as RepositoryIntegrityError
from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit
from governance.core.batches import affected
from governance.core.clock import utcnow as now
from governance.core.errors import Conflict, Invalid, NotFound
from tracking.models import EmailRecord, RecipientSuppression, SendingDomain, TrackedLink, TrackingEvent
from tracking.rewrite import LinkRules, unsubscribe_targets
from tracking.rewriting import RewriteJob, Rewriter, click_url, no_nul, pixel_url
from tracking.schemas import (
    DomainTracking,
    DomainTrackingPatch,
    EmailCreate,
    EmailRegistered,
    EmailTracking,
    EmailTrackingPatch,
    EmailView,
    KindDecision,
    RecipientErased,
)
from tracking.tokens import TokenSigner

if TYPE_CHECKING:
    from sqlalchemy import Table

    from governance.core.params import Period
    from governance.core.settings import Settings

Kind = Literal["open", "click"]
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
MAX_BODY_CHARS = 5_000_000
LINKS_PER_INSERT = 250  # a large email's links go in slices of about a millisecond of work each
TRACKED_LINKS = cast("Table", TrackedLink.__table__)  # Core inserts: plain rows, no ORM bookkeeping


# --- configuration built once per app ------------------------------------------------------


@dataclass(frozen=True)
class TrackingContext:
    """What registration needs besides the database: the token signer, the public base URL, the
    key for recipient hashes, and the rewriter (large emails are rewritten off the event loop)."""

    signer: TokenSigner
    base_url: str
    recipient_key: bytes
    rewriter: Rewriter = field(compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackingContext:
        rewriter = Rewriter(settings.token_keys, settings.public_base_url.rstrip("/"), settings.rewrite_processes)
        return cls(
            signer=rewriter.signer,
            base_url=rewriter.base_url,
            recipient_key=settings.recipient_hash_key,
            rewriter=rewriter,
        )

    def pixel_url(self, email_id: int) -> str:
        return pixel_url(self.signer, self.base_url, email_id)

    def click_url(self, email_id: int, link_index: int, destination: str) -> str:
        return click_url(self.signer, self.base_url, email_id, link_index, destination)

    def recipient_hash(self, kind: str, value: str) -> str:
        return hmac.new(self.recipient_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalize_domain(name: str) -> str:
    try:
        domain = name.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise Invalid(f"not a domain name: {name!r}") from exc
    if not DOMAIN_NAME.match(domain):
        raise Invalid(f"not a domain name: {name!r}")
    return domain


def split_recipient(recipient: str) -> tuple[str, str]:
    """(normalized address, normalized domain) of a recipient address."""
    local, at, domain = recipient.strip().rpartition("@")
    if not at or not local or len(recipient) > 320:
        raise Invalid("recipient must be an email address")
    domain = normalize_domain(domain)
    return f"{local.lower()}@{domain}", domain


# --- repository services (CRUD-shaped work) ----------------------------------------------------


class SendingDomainService(SQLAlchemyAsyncRepositoryService[SendingDomain]):
    class Repository(SQLAlchemyAsyncRepository[SendingDomain]):
        model_type = SendingDomain

    repository_type = Repository


class SuppressionService(SQLAlchemyAsyncRepositoryService[RecipientSuppression]):
    class Repository(SQLAlchemyAsyncRepository[RecipientSuppression]):
        model_type = RecipientSuppression

    repository_type = Repository


class EmailRecordService(SQLAlchemyAsyncRepositoryService[EmailRecord]):
    class Repository(SQLAlchemyAsyncRepository[EmailRecord]):
        model_type = EmailRecord

    repository_type = Repository


# --- sending domains ------------------------------------------------------------------------


async def add_domain(session: AsyncSession, *, account_id: UUID, name: str, actor: str) -> SendingDomain:
    name = normalize_domain(name)
    domains = SendingDomainService(session=session)
    # The same answer whoever owns it: a 409 must not tell one account what another has registered.
    taken = Conflict(f"{name} is already registered")
    if await domains.exists(name=name):
        raise taken
    try:
        async with session.begin_nested():  # registered concurrently: the savepoint keeps the session usable
            domain = await domains.create(SendingDomain(account_id=account_id, name=name, excluded_link_hosts=[]))
    except RepositoryIntegrityError as exc:
        raise taken from exc
    await audit.record(session, actor=actor, action="tracking.domain_add", subject=name, account_id=str(account_id))
    return domain


async def list_domains(
    session: AsyncSession, account_id: UUID | None, page: LimitOffset | None = None
) -> tuple[list[SendingDomain], int]:
    """A page of the account's domains (every account's: None), by name, and how many there are."""
    mine = [SendingDomain.account_id == account_id] if account_id is not None else []
    window = [page] if page is not None else []
    found, total = await SendingDomainService(session=session).get_many_and_count(
        *window, OrderBy("name", "asc"), *mine
    )
    return list(found), total


async def get_domain(session: AsyncSession, name: str) -> SendingDomain:
    try:
        name = normalize_domain(name)
    except Invalid as exc:
        raise NotFound("no such sending domain") from exc
    domain = await SendingDomainService(session=session).get_one_or_none(name=name)
    if domain is None:
        raise NotFound("no such sending domain")
    return domain


def domain_tracking(domain: SendingDomain) -> DomainTracking:
    return DomainTracking(
        track_opens=domain.track_opens,
        track_clicks=domain.track_clicks,
        track_text_links=domain.track_text_links,
        excluded_link_hosts=list(domain.excluded_link_hosts or []),
    )


def merged_tracking(current: DomainTracking, patch: DomainTrackingPatch) -> DomainTracking:
    """PATCH semantics: the fields sent replace the current ones, the rest stay."""
    sent = {field: value for field in patch.__struct_fields__ if (value := getattr(patch, field)) is not None}
    return msgspec.structs.replace(current, **sent)


async def set_domain_tracking(
    session: AsyncSession, domain: SendingDomain, data: DomainTracking, *, actor: str
) -> DomainTracking:
    before = domain_tracking(domain)
    domain.track_opens = data.track_opens
    domain.track_clicks = data.track_clicks
    domain.track_text_links = data.track_text_links
    domain.excluded_link_hosts = sorted({normalize_domain(h) for h in data.excluded_link_hosts})
    after = domain_tracking(domain)
    await audit.record(
        session,
        actor=actor,
        action="tracking.domain_settings",
        subject=domain.name,
        before={f: getattr(before, f) for f in before.__struct_fields__},
        after={f: getattr(after, f) for f in after.__struct_fields__},
    )
    return after


# --- recipient suppressions -----------------------------------------------------------------


async def add_suppression(
    session: AsyncSession, ctx: TrackingContext, *, account_id: UUID, recipient: str, actor: str
) -> RecipientSuppression:
    """Idempotent: the same recipient twice is the same suppression."""
    if "@" in recipient:
        kind, value = "address", split_recipient(recipient)[0]
    else:
        kind, value = "domain", normalize_domain(recipient)
    key = ctx.recipient_hash(kind, value)
    suppressions = SuppressionService(session=session)
    existing = await suppressions.get_one_or_none(account_id=account_id, recipient_key=key)
    if existing is not None:
        return existing
    try:
        async with session.begin_nested():
            row = await suppressions.create(RecipientSuppression(account_id=account_id, kind=kind, recipient_key=key))
    except RepositoryIntegrityError:  # added concurrently: that one is this one
        return await suppressions.get_one(account_id=account_id, recipient_key=key)
    await audit.record(
        session,
        actor=actor,
        action="tracking.suppression_add",
        subject=f"{kind} suppression {row.id}",
        account_id=str(account_id),
    )
    return row


async def list_suppressions(
    session: AsyncSession, account_id: UUID, page: LimitOffset | None = None
) -> tuple[list[RecipientSuppression], int]:
    window = [page] if page is not None else []
    found, total = await SuppressionService(session=session).get_many_and_count(
        *window,
        OrderBy("created_at", "asc"),
        OrderBy("id", "asc"),
        RecipientSuppression.account_id == account_id,
    )
    return list(found), total


async def remove_suppression(
    session: AsyncSession, *, suppression_id: UUID, account_id: UUID | None, actor: str
) -> None:
    suppressions = SuppressionService(session=session)
    row = await suppressions.get_one_or_none(id=suppression_id)
    if row is None or (account_id is not None and row.account_id != account_id):
        raise NotFound("no such suppression")
    await suppressions.delete(row.id)
    await audit.record(
        session,
        actor=actor,
        action="tracking.suppression_remove",
        subject=f"{row.kind} suppression {row.id}",
        account_id=str(row.account_id),
    )


async def _suppressed_by(
    session: AsyncSession, account_id: UUID, address_key: str | None, domain_key: str | None
) -> str | None:
    keys = [k for k in (address_key, domain_key) if k]
    if not keys:
        return None
    found = set(
        await session.scalars(
            select(RecipientSuppression.recipient_key).where(
                RecipientSuppression.account_id == account_id, RecipientSuppression.recipient_key.in_(keys)
            )
        )
    )
    if address_key in found:
        return "recipient_address"
    if domain_key in found:
        return "recipient_domain"
    return None


# --- precedence -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    enabled: bool
    decided_by: str
    overridden: bool


def decide(*, domain_allows: bool, requested: bool | None, suppressed_by: str | None) -> Decision:
    """The most restrictive level wins; asking for more than allowed is recorded, not refused."""
    if suppressed_by:
        enabled, by = False, suppressed_by
    elif not domain_allows:
        enabled, by = False, "domain"
    elif requested is False:
        enabled, by = False, "email"
    else:
        enabled, by = True, "email" if requested else "domain"
    return Decision(enabled=enabled, decided_by=by, overridden=bool(requested) and not enabled)


# --- registration -------------------------------------------------------------------------------


@dataclass
class Registration:
    email: EmailRecord
    domain: SendingDomain
    links_tracked: int
    answer: bytes  # EmailRegistered as JSON, encoded where the rewriting ran (off the loop when large)

    @property
    def registered(self) -> EmailRegistered:
        """The answer decoded (for callers other than the route, which sends the bytes as they are)."""
        return msgspec.json.decode(self.answer, type=EmailRegistered)


async def register_email(
    session: AsyncSession, ctx: TrackingContext, *, account_id: UUID | None, data: EmailCreate
) -> Registration:
    """Decide, record and rewrite one outgoing email. `account_id` None: an admin, any account."""
    if data.html is None and data.text is None:
        raise Invalid("send html, text or both")
    if len(data.html or "") + len(data.text or "") > MAX_BODY_CHARS:
        raise Invalid(f"bodies larger than {MAX_BODY_CHARS} characters are not accepted")
    if not data.message_id.strip() or len(data.message_id) > 998:
        raise Invalid("message_id must be 1 to 998 characters")
    if "\x00" in data.message_id:  # the bodies are checked where they are rewritten (off the event loop)
        raise no_nul("message_id")
    domain = await get_domain(session, data.domain)
    if account_id is not None and domain.account_id != account_id:
        raise NotFound("no such sending domain")
    address, recipient_domain = split_recipient(data.recipient)
    address_key = ctx.recipient_hash("address", address)
    domain_key = ctx.recipient_hash("domain", recipient_domain)
    suppressed_by = await _suppressed_by(session, domain.account_id, address_key, domain_key)
    opens = decide(domain_allows=domain.track_opens, requested=data.track_opens, suppressed_by=suppressed_by)
    clicks = decide(domain_allows=domain.track_clicks, requested=data.track_clicks, suppressed_by=suppressed_by)
    email = EmailRecord(
        account_id=domain.account_id,
        domain_id=domain.id,
        message_id=data.message_id.strip(),
        recipient_key=address_key,
        recipient_domain_key=domain_key,
        opens_requested=data.track_opens,
        opens_decided=opens.enabled,
        opens_decided_by=opens.decided_by,
        opens_overridden=opens.overridden,
        opens_active=opens.enabled,
        clicks_requested=data.track_clicks,
        clicks_decided=clicks.enabled,
        clicks_decided_by=clicks.decided_by,
        clicks_overridden=clicks.overridden,
        clicks_active=clicks.enabled,
        link_count=0,
    )
    session.add(email)
    await session.flush()

    done = await ctx.rewriter.rewrite(
        RewriteJob(
            email_id=email.id,
            html=data.html,
            text=data.text,
            track_opens=opens.enabled,
            track_clicks=clicks.enabled,
            track_text_links=domain.track_text_links,
            tracking=email_tracking(email, domain),
            rules=LinkRules(
                excluded_hosts=tuple(domain.excluded_link_hosts or ()),
                unsubscribe_urls=unsubscribe_targets(data.list_unsubscribe),
            ),
        )
    )
    email.link_count = len(done.links)
    rows = [{"email_id": email.id, "link_index": i, "part": p, "url": url} for i, (p, url) in enumerate(done.links)]
    for start in range(0, len(rows), LINKS_PER_INSERT):  # the event loop serves other requests in between
        await session.execute(insert(TRACKED_LINKS), rows[start : start + LINKS_PER_INSERT])
    return Registration(email=email, domain=domain, links_tracked=len(done.links), answer=done.answer)


# --- an email's tracking after registration -------------------------------------------------


async def get_email(session: AsyncSession, email_id: int, account_id: UUID | None) -> tuple[EmailRecord, SendingDomain]:
    row = (
        await session.execute(select(EmailRecord, SendingDomain).join(SendingDomain).where(EmailRecord.id == email_id))
    ).first()
    if row is None or (account_id is not None and row[0].account_id != account_id):
        raise NotFound("no such email")
    return row[0], row[1]


def kind_decision(email: EmailRecord, prefix: str) -> KindDecision:
    return KindDecision(
        decided=getattr(email, f"{prefix}_decided"),
        decided_by=getattr(email, f"{prefix}_decided_by"),
        overridden=getattr(email, f"{prefix}_overridden"),
        active=getattr(email, f"{prefix}_active"),
        stopped_at=getattr(email, f"{prefix}_stopped_at"),
    )


def email_tracking(email: EmailRecord, domain: SendingDomain) -> EmailTracking:
    return EmailTracking(
        email_id=email.id,
        message_id=email.message_id,
        domain=domain.name,
        opens=kind_decision(email, "opens"),
        clicks=kind_decision(email, "clicks"),
    )


def message_id_spellings(message_id: str) -> list[str]:
    """A Message-ID as sent (`<id@host>`) or as often quoted (`id@host`): both find the email."""
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    return [bare, f"<{bare}>"]


async def find_emails(
    session: AsyncSession,
    *,
    account_id: UUID | None,
    domain: str | None,
    message_id: str | None,
    period: Period,
    page: LimitOffset,
) -> tuple[list[EmailView], int]:
    """A page of an account's registered emails, newest first, filtered by domain, Message-ID and
    registration time; and how many match."""
    where = [EmailRecord.account_id == account_id] if account_id is not None else []
    if domain is not None:
        sending_domain = await get_domain(session, domain)
        if account_id is not None and sending_domain.account_id != account_id:
            raise NotFound("no such sending domain")
        where.append(EmailRecord.domain_id == sending_domain.id)
    if message_id is not None:
        where.append(EmailRecord.message_id.in_(message_id_spellings(message_id)))
    where += period.overlaps(EmailRecord.created_at)
    found, total = await EmailRecordService(session=session).get_many_and_count(
        page, OrderBy("created_at", "desc"), OrderBy("id", "desc"), *where
    )
    domain_ids = {email.domain_id for email in found}
    names = dict(
        (await session.execute(select(SendingDomain.id, SendingDomain.name).where(SendingDomain.id.in_(domain_ids))))
        .tuples()
        .all()
    )
    return [email_view(email, names[email.domain_id]) for email in found], total


def email_view(email: EmailRecord, domain_name: str) -> EmailView:
    return EmailView(
        id=email.id,
        message_id=email.message_id,
        domain=domain_name,
        registered_at=email.created_at,
        link_count=email.link_count,
        opens=kind_decision(email, "opens"),
        clicks=kind_decision(email, "clicks"),
        recipient_erased_at=email.recipient_erased_at,
    )


# --- erasure of one recipient's tracking data (a data-subject request) ----------------------------

ERASE_CHUNK = 500  # email ids per statement: bounded IN lists on both engines


def _bulk(statement: Any) -> Any:
    """A bulk UPDATE/DELETE: rows loaded in the session are not looked up one by one."""
    return statement.execution_options(synchronize_session=False)


async def erase_recipient(
    session: AsyncSession, ctx: TrackingContext, *, account_id: UUID, recipient: str, actor: str
) -> RecipientErased:
    """Remove one recipient's hashes, events and tracked links from the account's email records, and
    stop recording those emails for good (a hit still on its way is refused too). The records stay,
    without anything that leads back to the person; a suppression, if any, stays (it is what keeps
    them untracked). Written to the audit log with the counts, never the address."""
    address = split_recipient(recipient)[0]
    key = ctx.recipient_hash("address", address)
    ids = list(
        await session.scalars(
            select(EmailRecord.id).where(EmailRecord.account_id == account_id, EmailRecord.recipient_key == key)
        )
    )
    events_deleted = links_deleted = 0
    at = now()
    for start in range(0, len(ids), ERASE_CHUNK):
        chunk = ids[start : start + ERASE_CHUNK]
        events_deleted += affected(
            await session.execute(_bulk(delete(TrackingEvent).where(TrackingEvent.email_id.in_(chunk))))
        )
        links_deleted += affected(
            await session.execute(_bulk(delete(TrackedLink).where(TrackedLink.email_id.in_(chunk))))
        )
        await session.execute(
            _bulk(update(EmailRecord).where(EmailRecord.id.in_(chunk))).values(
                recipient_key=None,
                recipient_domain_key=None,
                recipient_erased_at=at,
                opens_active=False,
                clicks_active=False,
                opens_stopped_at=func.coalesce(EmailRecord.opens_stopped_at, at),
                clicks_stopped_at=func.coalesce(EmailRecord.clicks_stopped_at, at),
            )
        )
    await audit.record(
        session,
        actor=actor,
        action="tracking.recipient_erase",
        subject=f"recipient erasure ({len(ids)} emails)",
        account_id=str(account_id),
        emails=len(ids),
        events_deleted=events_deleted,
        links_deleted=links_deleted,
    )
    return RecipientErased(emails=len(ids), events_deleted=events_deleted, links_deleted=links_deleted)


async def change_email_tracking(
    session: AsyncSession, email: EmailRecord, domain: SendingDomain, patch: EmailTrackingPatch, *, actor: str
) -> EmailTracking:
    """Off stops recording from now on. On is refused when a stricter level says no, or when the
    email went out without that kind of tracking (there is nothing to turn back on)."""
    for prefix, wanted, domain_allows in (
        ("opens", patch.track_opens, domain.track_opens),
        ("clicks", patch.track_clicks, domain.track_clicks),
    ):
        if wanted is None or wanted == getattr(email, f"{prefix}_active"):
            continue
        if not wanted:
            setattr(email, f"{prefix}_active", False)
            setattr(email, f"{prefix}_stopped_at", now())
            continue
        if email.recipient_erased_at is not None:
            raise Conflict(f"the recipient's tracking data was erased; {prefix} tracking cannot be turned back on")
        if not domain_allows:
            raise Conflict(f"{prefix} tracking is off for the domain {domain.name}; an email cannot turn it on")
        if await _suppressed_by(session, email.account_id, email.recipient_key, email.recipient_domain_key):
            raise Conflict(f"the recipient is suppressed; {prefix} tracking cannot be turned on")
        if not getattr(email, f"{prefix}_decided"):
            raise Conflict(f"this email was sent without {prefix} tracking; there is nothing to turn back on")
        setattr(email, f"{prefix}_active", True)
        setattr(email, f"{prefix}_stopped_at", None)
    await audit.record(
        session,
        actor=actor,
        action="tracking.email_settings",
        subject=f"email {email.id}",
        track_opens=patch.track_opens,
        track_clicks=patch.track_clicks,
    )
    return email_tracking(email, domain)

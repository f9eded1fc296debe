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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit
from governance.core.clock import utcnow as now
from governance.core.errors import Conflict, Invalid, NotFound
from tracking.models import EmailRecord, RecipientSuppression, SendingDomain, TrackedLink
from tracking.rewrite import LinkRules, SkippedLink, rewrite_html, rewrite_text, unsubscribe_targets
from tracking.schemas import (
    DomainTracking,
    DomainTrackingPatch,
    EmailCreate,
    EmailTracking,
    EmailTrackingPatch,
    KindDecision,
)
from tracking.tokens import TokenSigner

if TYPE_CHECKING:
    from governance.core.settings import Settings

Kind = Literal["open", "click"]
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
MAX_BODY_CHARS = 5_000_000


# --- configuration built once per app ------------------------------------------------------


@dataclass(frozen=True)
class TrackingContext:
    """What registration needs besides the database: the token signer, the public base URL, the
    key for recipient hashes."""

    signer: TokenSigner
    base_url: str
    recipient_key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackingContext:
        return cls(
            signer=TokenSigner(settings.token_keys),
            base_url=settings.public_base_url.rstrip("/"),
            recipient_key=settings.recipient_hash_key,
        )

    def pixel_url(self, email_id: int) -> str:
        return f"{self.base_url}/t/o/{self.signer.sign_open(email_id)}.gif"

    def click_url(self, email_id: int, link_index: int, destination: str) -> str:
        return f"{self.base_url}/t/c/{self.signer.sign_click(email_id, link_index, destination)}"

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


# --- sending domains ------------------------------------------------------------------------


async def add_domain(session: AsyncSession, *, account_id: UUID, name: str, actor: str) -> SendingDomain:
    name = normalize_domain(name)
    # The same answer whoever owns it: a 409 must not tell one account what another has registered.
    if await session.scalar(select(SendingDomain.id).where(SendingDomain.name == name)) is not None:
        raise Conflict(f"{name} is already registered")
    domain = SendingDomain(account_id=account_id, name=name, excluded_link_hosts=[])
    session.add(domain)
    try:
        await session.flush()
    except IntegrityError as exc:  # registered concurrently
        raise Conflict(f"{name} is already registered") from exc
    await audit.record(session, actor=actor, action="tracking.domain_add", subject=name, account_id=str(account_id))
    return domain


async def list_domains(session: AsyncSession, account_id: UUID | None) -> list[SendingDomain]:
    query = select(SendingDomain).order_by(SendingDomain.name)
    if account_id is not None:
        query = query.where(SendingDomain.account_id == account_id)
    return list(await session.scalars(query))


async def get_domain(session: AsyncSession, name: str) -> SendingDomain:
    try:
        name = normalize_domain(name)
    except Invalid as exc:
        raise NotFound("no such sending domain") from exc
    domain = await session.scalar(select(SendingDomain).where(SendingDomain.name == name))
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
    if "@" in recipient:
        kind, value = "address", split_recipient(recipient)[0]
    else:
        kind, value = "domain", normalize_domain(recipient)
    key = ctx.recipient_hash(kind, value)
    existing = await session.scalar(
        select(RecipientSuppression).where(
            RecipientSuppression.account_id == account_id, RecipientSuppression.recipient_key == key
        )
    )
    if existing is not None:
        return existing
    row = RecipientSuppression(account_id=account_id, kind=kind, recipient_key=key)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="tracking.suppression_add",
        subject=f"{kind} suppression {row.id}",
        account_id=str(account_id),
    )
    return row


async def list_suppressions(session: AsyncSession, account_id: UUID) -> list[RecipientSuppression]:
    query = (
        select(RecipientSuppression)
        .where(RecipientSuppression.account_id == account_id)
        .order_by(RecipientSuppression.created_at)
    )
    return list(await session.scalars(query))


async def remove_suppression(
    session: AsyncSession, *, suppression_id: UUID, account_id: UUID | None, actor: str
) -> None:
    row = await session.get(RecipientSuppression, suppression_id)
    if row is None or (account_id is not None and row.account_id != account_id):
        raise NotFound("no such suppression")
    await session.delete(row)
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
    html: str | None
    text: str | None
    links_tracked: int
    skipped: list[SkippedLink]


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

    links: list[tuple[str, str]] = []  # (part, destination), index = position

    def tracker(part: str) -> Callable[[str], str]:
        def track(destination: str) -> str:
            links.append((part, destination))
            return ctx.click_url(email.id, len(links) - 1, destination)

        return track

    rules = LinkRules(
        excluded_hosts=tuple(domain.excluded_link_hosts or ()),
        unsubscribe_urls=unsubscribe_targets(data.list_unsubscribe),
    )
    html_body, text_body = data.html, data.text
    skipped: list[SkippedLink] = []
    if data.html is not None:
        result = rewrite_html(
            data.html,
            track_link=tracker("html") if clicks.enabled else None,
            pixel_url=ctx.pixel_url(email.id) if opens.enabled else None,
            rules=rules,
        )
        html_body, skipped = result.body, skipped + result.skipped
    if data.text is not None and clicks.enabled and domain.track_text_links:
        result = rewrite_text(data.text, track_link=tracker("text"), rules=rules)
        text_body, skipped = result.body, skipped + result.skipped
    email.link_count = len(links)
    if links:
        await session.execute(
            insert(TrackedLink),
            [{"email_id": email.id, "link_index": i, "part": part, "url": url} for i, (part, url) in enumerate(links)],
        )
    return Registration(
        email=email, domain=domain, html=html_body, text=text_body, links_tracked=len(links), skipped=skipped
    )


# --- an email's tracking after registration -------------------------------------------------


async def get_email(session: AsyncSession, email_id: int, account_id: UUID | None) -> tuple[EmailRecord, SendingDomain]:
    row = (
        await session.execute(select(EmailRecord, SendingDomain).join(SendingDomain).where(EmailRecord.id == email_id))
    ).first()
    if row is None or (account_id is not None and row[0].account_id != account_id):
        raise NotFound("no such email")
    return row[0], row[1]


def email_tracking(email: EmailRecord, domain: SendingDomain) -> EmailTracking:
    def kind(prefix: str) -> KindDecision:
        return KindDecision(
            decided=getattr(email, f"{prefix}_decided"),
            decided_by=getattr(email, f"{prefix}_decided_by"),
            overridden=getattr(email, f"{prefix}_overridden"),
            active=getattr(email, f"{prefix}_active"),
            stopped_at=getattr(email, f"{prefix}_stopped_at"),
        )

    return EmailTracking(
        email_id=email.id, message_id=email.message_id, domain=domain.name, opens=kind("opens"), clicks=kind("clicks")
    )


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

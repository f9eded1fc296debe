"""People and machine clients, as admins manage them: users (create, roles, disable, password reset,
unlock) and every account's API keys. Each change is audited. No HTTP here; the API, the CLI and the
console all call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from advanced_alchemy.filters import LimitOffset
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import service
from auth.models import Account, ApiKey, Role, User
from auth.passwords import hash_password
from auth.schemas import ApiKeyView
from auth.service import Lockout
from governance.core import audit
from governance.core.audit import AuditAction
from governance.core.errors import Conflict, NotFound


@dataclass(frozen=True)
class Person:
    id: UUID
    email: str
    roles: list[str]
    account_id: UUID | None
    account: str | None
    active: bool
    locked: bool
    created_at: datetime


async def user_by_id(session: AsyncSession, user_id: UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


async def _account_names(session: AsyncSession, ids: set[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    return dict((await session.execute(select(Account.id, Account.name).where(Account.id.in_(ids)))).tuples().all())


async def _people(session: AsyncSession, users: list[User], lockout: Lockout) -> list[Person]:
    names = await _account_names(session, {u.account_id for u in users if u.account_id})
    locked = await service.locked_out(session, emails=[u.email for u in users], rule=lockout)
    return [
        Person(
            id=u.id,
            email=u.email,
            roles=u.roles,
            account_id=u.account_id,
            account=names.get(u.account_id) if u.account_id else None,
            active=u.is_active,
            locked=u.email in locked,
            created_at=u.created_at,
        )
        for u in users
    ]


async def list_people(session: AsyncSession, page: LimitOffset, lockout: Lockout) -> tuple[list[Person], int]:
    """One page of users, by email, and how many there are."""
    total = int(await session.scalar(select(func.count()).select_from(User)) or 0)
    users = list(await session.scalars(select(User).order_by(User.email).limit(page.limit).offset(page.offset)))
    return await _people(session, users, lockout), total


async def person(session: AsyncSession, user_id: UUID, lockout: Lockout) -> Person:
    return (await _people(session, [await user_by_id(session, user_id)], lockout))[0]


async def find_user(session: AsyncSession, email: str) -> User:
    """The user with this email (for the CLI, which names people by email)."""
    user = await session.scalar(select(User).where(User.email == service.normalize_email(email)))
    if user is None:
        raise NotFound(f"no user with email {email.strip().lower()}")
    return user


async def create_person(
    session: AsyncSession, *, actor: str, email: str, password: str, roles: list[str], account: str | None
) -> User:
    """A new user; members name their account (created if new), staff name none."""
    account_id = (await service.get_or_create_account(session, account)).id if account else None
    user = await service.create_user(session, email=email, password=password, roles=roles, account_id=account_id)
    await audit.record(
        session, actor=actor, action=AuditAction.USER_CREATE, subject=f"user {user.email}", roles=user.roles
    )
    return user


def _self_check(actor_id: str | None, user: User, *, roles: list[str] | None, active: bool | None) -> None:
    if actor_id is None or actor_id != str(user.id):
        return
    if roles is not None and Role.ADMIN.value in user.roles and Role.ADMIN.value not in roles:
        raise Conflict("you cannot remove your own admin role: ask another admin to do it")
    if active is False:
        raise Conflict("you cannot disable your own account: ask another admin to do it")


async def update_person(
    session: AsyncSession,
    user: User,
    *,
    actor: str,
    actor_id: str | None,
    roles: list[str] | None = None,
    active: bool | None = None,
) -> User:
    """Change roles and/or the active flag (what is not given stays); each change is audited.
    `actor_id` is the acting user's id: nobody removes their own admin role or disables themselves."""
    _self_check(actor_id, user, roles=roles, active=active)
    subject = f"user {user.email}"
    if roles is not None:
        new = service.validate_roles(roles, user.account_id)
        if new != sorted(user.roles):
            old = user.roles
            user.roles_csv = ",".join(new)
            await audit.record(session, actor=actor, action=AuditAction.USER_ROLES, subject=subject, old=old, new=new)
    if active is not None and active != user.is_active:
        user.is_active = active
        if not active:
            service.end_sessions(user)
        action = AuditAction.USER_ENABLE if active else AuditAction.USER_DISABLE
        await audit.record(session, actor=actor, action=action, subject=subject)
    await session.flush()
    return user


async def reset_password(session: AsyncSession, user: User, *, actor: str, password: str) -> None:
    """A new password; every session the user had ends."""
    user.password_hash = await hash_password(password)
    service.end_sessions(user)
    await audit.record(session, actor=actor, action=AuditAction.USER_PASSWORD_RESET, subject=f"user {user.email}")


async def unlock(session: AsyncSession, user: User, *, actor: str, secret: str) -> None:
    """Lift the failed-login lockout now, instead of when its window ends."""
    await service.clear_login_failures(session, email=user.email, secret=secret)
    await audit.record(session, actor=actor, action=AuditAction.USER_UNLOCK, subject=f"user {user.email}")


# --- API keys, every account's ----------------------------------------------------------------


async def list_keys(session: AsyncSession, account_id: UUID | None = None) -> list[ApiKeyView]:
    """Every key (or one account's), oldest first, with its account's name and its last use."""
    rows = await service.list_api_keys(session, account_id)
    names = await _account_names(session, {row.account_id for row in rows})
    return [
        ApiKeyView(
            id=r.id,
            account_id=r.account_id,
            account=names.get(r.account_id, ""),
            name=r.name,
            prefix=r.prefix,
            created_at=r.created_at,
            revoked_at=r.revoked_at,
            last_used_at=r.last_used_at,
        )
        for r in rows
    ]


async def create_key(session: AsyncSession, *, actor: str, account_id: UUID, name: str) -> tuple[ApiKey, str]:
    """A new key for an account, and its plaintext (shown once, never stored)."""
    row, key = await service.create_api_key(session, account_id=account_id, name=name)
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.API_KEY_CREATE,
        subject=f"api key {row.prefix}",
        account_id=str(account_id),
        name=name,
    )
    return row, key


async def revoke_key(session: AsyncSession, *, actor: str, key_id: UUID, account_id: UUID | None) -> ApiKey:
    """Revoke a key (`account_id` limits it to that account's); revoking twice changes nothing."""
    existing = await session.get(ApiKey, key_id)
    already = existing is not None and existing.revoked_at is not None
    row = await service.revoke_api_key(session, key_id=key_id, account_id=account_id)
    if not already:
        await audit.record(
            session,
            actor=actor,
            action=AuditAction.API_KEY_REVOKE,
            subject=f"api key {row.prefix}",
            account_id=str(row.account_id),
        )
    return row


async def find_key(session: AsyncSession, prefix: str) -> ApiKey:
    """A key by its public prefix (what the CLI and the list show)."""
    row = await session.scalar(
        select(ApiKey).where(ApiKey.prefix == prefix.strip().removeprefix(service.API_KEY_PREFIX))
    )
    if row is None:
        raise NotFound(f"no API key with prefix {prefix}")
    return row

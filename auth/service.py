"""Auth rules: accounts, users, logins (with rate limiting), sessions, revocation, API keys. No HTTP here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import STAFF_ROLES, Account, ApiKey, LoginFailure, RevokedToken, Role, User
from auth.passwords import hash_password, verify_password
from auth.schemas import Principal, SessionToken
from governance.core.batches import count_before, delete_oldest
from governance.core.clock import utcnow as now
from governance.core.errors import Busy, Conflict, Invalid, NotFound, Unauthorized

SESSION_LIFETIME = timedelta(days=30)
LAST_USE_RESOLUTION = timedelta(minutes=1)  # an API key's `last_used_at` is written at most this often
API_KEY_PREFIX = "msk_"
WRONG_CREDENTIALS = "wrong email or password"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise Invalid(f"not an email address: {email!r}")
    return email


def validate_roles(roles: list[str], account_id: UUID | None) -> list[str]:
    try:
        parsed = {Role(role) for role in roles}
    except ValueError as exc:
        raise Invalid(f"unknown role; roles are {', '.join(r.value for r in Role)}") from exc
    if not parsed or Role.MACHINE in parsed:
        raise Invalid("a user needs at least one of the roles admin, privacy_staff, auditor, member")
    if Role.MEMBER in parsed and (parsed & STAFF_ROLES):
        raise Invalid("a member belongs to an account and cannot also hold a staff role")
    if (Role.MEMBER in parsed) != (account_id is not None):
        raise Invalid("members need an account; staff users must not have one")
    return sorted(role.value for role in parsed)


# --- accounts and users ---------------------------------------------------------------


async def get_or_create_account(session: AsyncSession, name: str) -> Account:
    account = await session.scalar(select(Account).where(Account.name == name))
    if account is None:
        account = Account(name=name)
        session.add(account)
        await session.flush()
    return account


async def create_user(
    session: AsyncSession, *, email: str, password: str, roles: list[str], account_id: UUID | None = None
) -> User:
    email = normalize_email(email)
    user = User(
        email=email,
        password_hash=hash_password(password),
        roles_csv=",".join(validate_roles(roles, account_id)),
        account_id=account_id,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a user with email {email} already exists") from exc
    return user


def principal_for_user(user: User) -> Principal:
    return Principal(
        id=str(user.id), kind="user", roles=tuple(user.roles), account_id=user.account_id, email=user.email
    )


# --- login ------------------------------------------------------------------------------


def _email_key(secret: str, email: str) -> str:
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


async def authenticate(
    session: AsyncSession, *, email: str, password: str, secret: str, max_failures: int, window_seconds: int
) -> User:
    """The user for these credentials; unknown email and wrong password fail alike, in similar time."""
    email = email.strip().lower()
    key = _email_key(secret, email)
    window_start = now() - timedelta(seconds=window_seconds)
    failures = await session.scalar(
        select(func.count()).where(LoginFailure.email_key == key, LoginFailure.occurred_at >= window_start)
    )
    if (failures or 0) >= max_failures:
        raise Busy("too many failed logins for this account; try again later", retry_after=window_seconds)
    user = await session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        session.add(LoginFailure(email_key=key, occurred_at=now()))
        await session.commit()  # the failure counts although the request fails (an error rolls back)
        raise Unauthorized(WRONG_CREDENTIALS)
    await session.execute(delete(LoginFailure).where(LoginFailure.email_key == key))
    return user


async def clear_login_failures(session: AsyncSession, *, email: str, secret: str) -> None:
    """Forget the failed logins counted against `email`: an admin's unlock after the lockout."""
    key = _email_key(secret, email.strip().lower())
    await session.execute(delete(LoginFailure).where(LoginFailure.email_key == key))


async def locked_out(
    session: AsyncSession, *, emails: list[str], secret: str, max_failures: int, window_seconds: int
) -> set[str]:
    """Which of `emails` the failed-login lockout holds right now (one query for the lot)."""
    keys = {_email_key(secret, email.strip().lower()): email for email in emails}
    if not keys:
        return set()
    window_start = now() - timedelta(seconds=window_seconds)
    query = (
        select(LoginFailure.email_key)
        .where(LoginFailure.email_key.in_(list(keys)), LoginFailure.occurred_at >= window_start)
        .group_by(LoginFailure.email_key)
        .having(func.count() >= max_failures)
    )
    return {keys[key] for key in await session.scalars(query)}


def new_session_token(user: User) -> SessionToken:
    return SessionToken(
        sub=str(user.id),
        exp=now() + SESSION_LIFETIME,
        jti=uuid4().hex,
        roles=list(user.roles),
        account=str(user.account_id) if user.account_id else None,
        epoch=user.session_epoch,
    )


async def revoke_session(session: AsyncSession, token: SessionToken) -> None:
    exists = await session.scalar(select(RevokedToken.id).where(RevokedToken.jti == token.jti))
    if exists is None:
        session.add(RevokedToken(jti=str(token.jti), expires_at=token.exp))
        await session.flush()


async def principal_for_session(session: AsyncSession, token: SessionToken) -> Principal | None:
    """The signed-in user, unless the session was revoked (signed out, or older than the user's last
    password reset or disabling) or the user deactivated."""
    if token.jti is None or await session.scalar(select(RevokedToken.id).where(RevokedToken.jti == token.jti)):
        return None
    try:
        user_id = UUID(token.sub)
    except ValueError:
        return None
    user = await session.get(User, user_id)
    if user is None or not user.is_active or token.epoch != user.session_epoch:
        return None
    return principal_for_user(user)


def end_sessions(user: User) -> None:
    """Every session issued to `user` so far stops working (the next request is a 401)."""
    user.session_epoch += 1


# --- API keys -----------------------------------------------------------------------------


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, *, account_id: UUID, name: str) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored and never shown again."""
    if await session.get(Account, account_id) is None:
        raise NotFound(f"no account {account_id}")
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(account_id=account_id, name=name, prefix=prefix, key_hash=_hash_key(key))
    session.add(row)
    await session.flush()
    return row, key


async def principal_for_api_key(session: AsyncSession, key: str) -> Principal | None:
    prefix = key.removeprefix(API_KEY_PREFIX).split("_", 1)[0]
    row = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, _hash_key(key)):
        return None
    moment = now()
    if row.last_used_at is None or moment - row.last_used_at >= LAST_USE_RESOLUTION:
        row.last_used_at = moment  # at most one write a minute per key: the hot path stays a read
    return Principal(id=str(row.id), kind="api_key", roles=(Role.MACHINE.value,), account_id=row.account_id)


async def list_api_keys(session: AsyncSession, account_id: UUID | None) -> list[ApiKey]:
    """One account's keys, or (None) every account's, oldest first."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if account_id is not None:
        query = query.where(ApiKey.account_id == account_id)
    return list(await session.scalars(query))


async def revoke_api_key(session: AsyncSession, *, key_id: UUID, account_id: UUID | None) -> ApiKey:
    """Revoke a key; `account_id` limits it to that account's keys (None: staff, any account)."""
    row = await session.get(ApiKey, key_id)
    if row is None or (account_id is not None and row.account_id != account_id):
        raise NotFound("no such API key")
    row.revoked_at = row.revoked_at or now()
    return row


# --- retention: rows that only matter for a while ------------------------------------------


async def purge_revoked_tokens_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Revoked sessions that expired before `cutoff` can no longer be replayed: forget them."""
    return await delete_oldest(session, RevokedToken, RevokedToken.expires_at, cutoff, limit)


async def count_revoked_tokens_before(session: AsyncSession, cutoff: datetime) -> int:
    return await count_before(session, RevokedToken.expires_at, cutoff)


async def purge_login_failures_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    return await delete_oldest(session, LoginFailure, LoginFailure.occurred_at, cutoff, limit)


async def count_login_failures_before(session: AsyncSession, cutoff: datetime) -> int:
    return await count_before(session, LoginFailure.occurred_at, cutoff)

"""Auth rules: accounts, users, logins (with rate limiting), sessions, revocation, API keys. No HTTP here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
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
from governance.core.settings import Settings

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
        password_hash=await hash_password(password),
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


@dataclass(frozen=True)
class Lockout:
    """The failed-login rule. Failures count per (account, client): `max_failures` in `window_seconds`
    locks that client out of that account only, so a stranger's guesses do not lock the real user out
    of their own client. Across every client, `account_max_failures` (ten times as many by default)
    bounds a guesser with many addresses. Counts are filed under keyed hashes (no address stored)."""

    secret: str
    max_failures: int
    window_seconds: int
    account_max_failures: int

    @classmethod
    def of(cls, settings: Settings) -> Lockout:
        return cls(
            settings.jwt_secret,
            settings.login_max_failures,
            settings.login_window_seconds,
            settings.login_account_max_failures,
        )


async def authenticate(session: AsyncSession, *, email: str, password: str, client: str, rule: Lockout) -> User:
    """The user for these credentials; unknown email and wrong password fail alike, in similar time.

    Check-and-count is atomic without a lock: the attempt is recorded (committed) first and counted
    after, so of N concurrent guesses the k-th to commit counts at least k, and no more than the limit
    ever reach the password check. A refused attempt is taken back (it must not lock anyone out)."""
    email = email.strip().lower()
    key, client_key = _email_key(rule.secret, email), _email_key(rule.secret, f"client {client}")
    attempt = LoginFailure(email_key=key, client_key=client_key, occurred_at=now())
    session.add(attempt)
    await session.commit()
    since = now() - timedelta(seconds=rule.window_seconds)
    from_client, in_all = (
        await session.execute(
            select(func.count().filter(LoginFailure.client_key == client_key), func.count()).where(
                LoginFailure.email_key == key, LoginFailure.occurred_at >= since
            )
        )
    ).one()
    if from_client > rule.max_failures or in_all > rule.account_max_failures:
        await session.delete(attempt)
        await session.commit()
        raise Busy("too many failed logins for this account; try again later", retry_after=rule.window_seconds)
    user = await session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized(WRONG_CREDENTIALS)  # the attempt stays: it is the failure, already committed
    # Signed in: this client's failures are forgotten; other clients' still count against them.
    await session.execute(
        delete(LoginFailure).where(LoginFailure.email_key == key, LoginFailure.client_key == client_key)
    )
    return user


async def clear_login_failures(session: AsyncSession, *, email: str, secret: str) -> None:
    """Forget the failed logins counted against `email`: an admin's unlock after the lockout."""
    key = _email_key(secret, email.strip().lower())
    await session.execute(delete(LoginFailure).where(LoginFailure.email_key == key))


async def locked_out(session: AsyncSession, *, emails: list[str], rule: Lockout) -> set[str]:
    """Which of `emails` the lockout holds right now for some client (or for all): one query for the lot."""
    keys = {_email_key(rule.secret, email.strip().lower()): email for email in emails}
    if not keys:
        return set()
    window_start = now() - timedelta(seconds=rule.window_seconds)
    recent = LoginFailure.email_key.in_(list(keys)), LoginFailure.occurred_at >= window_start
    per_client = (
        select(LoginFailure.email_key)
        .where(*recent)
        .group_by(LoginFailure.email_key, LoginFailure.client_key)
        .having(func.count() >= rule.max_failures)
    )
    per_account = (
        select(LoginFailure.email_key)
        .where(*recent)
        .group_by(LoginFailure.email_key)
        .having(func.count() >= rule.account_max_failures)
    )
    return {keys[key] for key in await session.scalars(per_client.union(per_account))}


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

"""Accounts (customers), users with roles, API keys, revoked sessions and failed logins."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import BigIntBase, UUIDAuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship


class Role(enum.StrEnum):
    ADMIN = "admin"
    PRIVACY_STAFF = "privacy_staff"
    AUDITOR = "auditor"
    MEMBER = "member"  # the only role tied to an account
    MACHINE = "machine"  # an API key's principal; never given to a user


STAFF_ROLES = frozenset({Role.ADMIN, Role.PRIVACY_STAFF, Role.AUDITOR})


class Account(UUIDAuditBase):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(UUIDAuditBase):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # comma-separated Role values, e.g. "privacy_staff,auditor"
    roles_csv: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Sessions carry the epoch they were issued in; a password reset or a disabling bumps it, which
    # ends every session issued before (a revocation list cannot: it knows only signed-out `jti`s).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    account: Mapped[Account | None] = relationship(lazy="raise")

    @property
    def roles(self) -> list[str]:
        return [role for role in self.roles_csv.split(",") if role]


class ApiKey(UUIDAuditBase):
    """A machine client's key: shown once, stored as SHA-256 (the key is 256 random bits, so no KDF is needed)."""

    __tablename__ = "api_keys"

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class RevokedToken(BigIntBase):
    """A signed-out session's `jti`, kept until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)


class LoginFailure(BigIntBase):
    """One failed login, keyed by a keyed hash of the email (no address stored), for rate limiting."""

    __tablename__ = "login_failures"

    email_key: Mapped[str] = mapped_column(String(64), index=True)
    # keyed hash of the client (`client_of`): failures lock that client out of that account only
    client_key: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)

"""Request and response bodies of the auth routes, and the principal a request acts as."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import jwt
import msgspec
from litestar import Request
from litestar.security.jwt import Token

from auth.models import STAFF_ROLES, Role
from governance.core.schemas import Input


@dataclass
class SessionToken(Token):
    """The JWT in `ms_access`: `sub` (user id), `roles`, `account`, `jti`, `exp` at the top level."""

    roles: list[str] = field(default_factory=list)
    account: str | None = None
    epoch: int = 0  # the user's session epoch when issued (auth.models.User.session_epoch)

    def encode(self, secret: str, algorithm: str) -> str:
        # Litestar's Token would also write an empty `extras` claim; ours has named claims instead.
        payload = {k: v for k, v in asdict(self).items() if v is not None and k != "extras"}
        return jwt.encode(payload, key=secret, algorithm=algorithm)


class Principal(msgspec.Struct, frozen=True):
    """Who a request acts as: a signed-in user, or a machine client holding an account's API key."""

    id: str
    kind: Literal["user", "api_key"]
    roles: tuple[str, ...]
    account_id: UUID | None = None
    email: str | None = None

    @property
    def is_staff(self) -> bool:
        return any(role in STAFF_ROLES for role in self.roles)

    @property
    def label(self) -> str:
        """How the audit log names this principal."""
        return self.email or f"api_key:{self.id}"

    def has_any_role(self, *roles: str | Role) -> bool:
        wanted = {r.value if isinstance(r, Role) else r for r in roles}
        return not wanted.isdisjoint(self.roles)


class LoginRequest(Input):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class Me(msgspec.Struct):
    id: str
    kind: str
    roles: tuple[str, ...]
    account_id: UUID | None
    email: str | None


class LoginResponse(msgspec.Struct, omit_defaults=True):
    user: Me
    csrf_token: str
    expires_at: datetime
    access_token: str | None = None  # only in token-in-body mode


class ApiKeyCreate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "sending pipeline"


class ApiKeyCreated(msgspec.Struct):
    id: UUID
    name: str
    prefix: str
    key: str  # shown once


class ApiKeyRevoked(msgspec.Struct):
    revoked_at: datetime | None


class SignedOut(msgspec.Struct):
    signed_out: bool


class ApiKeyView(msgspec.Struct):
    id: UUID
    account_id: UUID
    account: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Roles = Annotated[list[str], msgspec.Meta(min_length=1, max_length=4)]


class UserCreate(Input):
    """Staff name their roles; a member also names the account (by name; created if new)."""

    email: Email
    password: Password
    roles: Roles
    account: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class UserChange(Input):
    """A merge: what is left out stays as it is."""

    roles: Roles | None = None
    active: bool | None = None


class PasswordSet(Input):
    password: Password


class UserView(msgspec.Struct):
    id: UUID
    email: str
    roles: list[str]
    account_id: UUID | None
    account: str | None
    active: bool
    locked: bool  # the failed-login lockout holds this email right now
    created_at: datetime


AuthRequest = Request[Principal, SessionToken | None, Any]
"""A request that passed the auth layer: `request.user` is the Principal, `request.auth` its session token
(None for an API key)."""

"""Request and response bodies of the auth routes, and the principal a request acts as."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

import jwt
import msgspec
from litestar.security.jwt import Token

from auth.models import STAFF_ROLES, Role


@dataclass
class SessionToken(Token):
    """The JWT in `ms_access`: `sub` (user id), `roles`, `account`, `jti`, `exp` at the top level."""

    roles: list[str] = field(default_factory=list)
    account: str | None = None

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


class LoginRequest(msgspec.Struct):
    email: str
    password: str


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


class ApiKeyCreate(msgspec.Struct):
    name: str = msgspec.field(default="sending pipeline")


class ApiKeyCreated(msgspec.Struct):
    id: UUID
    name: str
    prefix: str
    key: str  # shown once


class ApiKeyView(msgspec.Struct):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

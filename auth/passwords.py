"""Password hashing with Argon2id (memory-hard), via argon2-cffi, with its RFC 9106 parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from governance.core.errors import Invalid

MIN_LENGTH = 12
DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105  (a decoy to verify against, not a secret)


class WeakPasswordError(Invalid):
    """The password breaks the password rule (length)."""


class _Passwords:
    """The hasher, and a hash to verify against when the email is unknown (both failures cost the same)."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.use(hasher)

    def use(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.dummy_hash = hasher.hash(DUMMY_PASSWORD)


_passwords = _Passwords(PasswordHasher())


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the parameters: the test suite uses argon2's cheapest profile, never production's."""
    _passwords.use(hasher)


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_LENGTH} characters")
    return _passwords.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        verified = _passwords.hasher.verify(password_hash or _passwords.dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and password_hash is not None

"""Password hashing with Argon2id (memory-hard), via argon2-cffi, with its RFC 9106 parameters.

Hashing takes ~0.2 s of CPU and 64 MiB: it runs in a worker thread (argon2-cffi releases the GIL),
never on the event loop, and at most `MAX_CONCURRENT` at once per process, so a burst of logins
queues here instead of starving the tracking routes and using unbounded memory.
"""

from __future__ import annotations

import asyncio
import weakref

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from governance.core.errors import Invalid

MIN_LENGTH = 12
MAX_CONCURRENT = 2  # hashes at once per process: one per core of a small machine
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


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _bounded() -> anyio.CapacityLimiter:
    """The running loop's limiter (a limiter belongs to one loop; tests and CLI commands start several)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(MAX_CONCURRENT)
    return limiter


async def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_LENGTH} characters")
    return await anyio.to_thread.run_sync(_passwords.hasher.hash, password, limiter=_bounded())


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        verified = _passwords.hasher.verify(password_hash or _passwords.dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and password_hash is not None


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Unknown users (`None`) verify against a decoy hash: both failures cost the same time."""
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_bounded())

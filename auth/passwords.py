"""Password hashing with Argon2id (memory-hard), via argon2-cffi, with its RFC 9106 parameters.

Hashing takes ~0.2 s of CPU and 64 MiB: it runs in a thread pool of its own (argon2-cffi releases the
GIL), never on the event loop, at most `MAX_CONCURRENT` at once per process and at the lowest CPU
priority, so a burst of logins queues here instead of starving the tracking routes or using
unbounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from governance.core.errors import Invalid

MIN_LENGTH = 12
MAX_CONCURRENT = 2  # hashes at once per process; more wait their turn
T = TypeVar("T")
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


def _lower_priority() -> None:
    """Hashing threads run at the lowest CPU priority (Linux nice is per thread, and Argon2's lane
    threads inherit it): a burst of logins then takes the CPU only when the event loop leaves it."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


_hashing = ThreadPoolExecutor(max_workers=MAX_CONCURRENT, thread_name_prefix="argon2", initializer=_lower_priority)


async def _in_hashing_thread(function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, function, *args)


async def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_LENGTH} characters")
    return await _in_hashing_thread(_passwords.hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        verified = _passwords.hasher.verify(password_hash or _passwords.dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and password_hash is not None


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Unknown users (`None`) verify against a decoy hash: both failures cost the same time."""
    return await _in_hashing_thread(_verify, password_hash, password)

"""One purge at a time across every instance sharing the database.

PostgreSQL: a session-level advisory lock held on a dedicated autocommit connection for the
whole run. SQLite: an exclusive `flock` on a file beside the database (only processes on the
same machine can share a SQLite file). Both die with their holder, so a crashed leader frees
the lock at once and whoever takes it next knows any run still marked `running` is abandoned.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# Any constant bigint works; this one spells "ms-purge" so it is recognisable in pg_locks.
ADVISORY_KEY = int.from_bytes(b"ms-purge", "big") & 0x7FFF_FFFF_FFFF_FFFF


@asynccontextmanager
async def purge_lock(engine: AsyncEngine) -> AsyncIterator[bool]:
    """Yields True when this process now holds the purge lock, False when another holder has it."""
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine) as held:
            yield held
    else:
        with _file_lock(engine) as held:
            yield held


@asynccontextmanager
async def _advisory_lock(engine: AsyncEngine) -> AsyncIterator[bool]:
    async with engine.connect() as connection:
        conn = await connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}))
        try:
            yield held
        finally:
            if held:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})


class _FileLock:
    def __init__(self, path: Path | None) -> None:
        self.path, self.fd = path, -1

    def __enter__(self) -> bool:
        if self.path is None:  # in-memory database: private to this process already
            return True
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = -1
            return False
        return True

    def __exit__(self, *_exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the flock


def _file_lock(engine: AsyncEngine) -> _FileLock:
    database = engine.url.database
    if not database or database == ":memory:":
        return _FileLock(None)
    return _FileLock(Path(database).with_name(Path(database).name + ".purge-lock"))

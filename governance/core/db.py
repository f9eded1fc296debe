"""Database wiring: the advanced-alchemy config, and sessions outside a request (CLI, jobs, tests).

The app factory builds one `SQLAlchemyAsyncConfig` (`alchemy_config`) and hands it to every domain
plugin's constructor: that object is where the engine, the session maker and the request's
session come from. Nothing looks it up in the app's state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advanced_alchemy.extensions.litestar import AlembicAsyncConfig, AsyncSessionConfig, SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from governance.core.settings import Settings

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _prepare_sqlite_path(url: str) -> None:
    """`make run` keeps its SQLite file under ./var; create the folder on first start."""
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL lets readers run beside the writer; busy_timeout makes writers wait instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # A failed statement's log line and exception never carry its parameters: they hold API key
    # hashes, email keys and visitor ids.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        _prepare_sqlite_path(url)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _tune_sqlite(engine)
    return engine


def pool_options(settings: Settings) -> dict[str, Any]:
    """PostgreSQL's pool per worker: MS_DB_POOL_SIZE kept, MS_DB_MAX_OVERFLOW more under load,
    MS_DB_POOL_TIMEOUT_SECONDS of waiting for one. SQLite keeps SQLAlchemy's own pool."""
    if is_sqlite(settings.database_url):
        return {}
    return {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_seconds,
    }


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    engine = create_engine(settings.database_url, **pool_options(settings))
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit_include_redirects",
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS),
            version_table_name="alembic_version",
            render_as_batch=True,
        ),
    )


@asynccontextmanager
async def standalone_session(url: str) -> AsyncIterator[AsyncSession]:
    """A committed-on-success session with its own engine: for scheduled jobs and tests."""
    engine = create_engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


@asynccontextmanager
async def transaction(db: SQLAlchemyAsyncConfig) -> AsyncIterator[AsyncSession]:
    """A session on the app's engine, committed when the block succeeds (CLI commands, background work)."""
    async with db.get_session() as session, session.begin():
        yield session

"""Fixtures: every database test runs on SQLite and again on PostgreSQL.

`database_url` is parametrized over both engines. The PostgreSQL half uses a database of
its own per run (created here, dropped afterwards), so parallel runs never collide. It is
skipped with a message when no server answers at TEST_DATABASE_URL, and fails instead when
REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from advanced_alchemy.alembic.commands import AlembicCommands
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from argon2 import PasswordHasher, profiles
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.cli._utils import LitestarEnv
from litestar.cli.main import litestar_group
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth import service as auth_service
from governance.app import create_app
from governance.core.db import alchemy_config, create_engine, standalone_session
from governance.core.settings import Settings

T = TypeVar("T")
SPOOL_ROOT = Path(tempfile.mkdtemp(prefix="governance-test-spool-"))
passwords.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))  # tests never pay production's Argon2
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _forget_alchemy_configs() -> Iterator[None]:
    """advanced-alchemy keeps every config's state keys in class-level registries, to keep several
    databases of one app apart, and finds a free key by recursion: past ~950 apps in one process
    (the suite builds more) that overflows. Each test's apps are its own, so each test starts afresh."""
    yield
    for registry in (
        "_SESSION_SCOPE_KEY_REGISTRY",
        "_ENGINE_APP_STATE_KEY_REGISTRY",
        "_SESSIONMAKER_APP_STATE_KEY_REGISTRY",
    ):
        getattr(SQLAlchemyAsyncConfig, registry).clear()


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def _migrate(url: str) -> None:
    AlembicCommands(sqlalchemy_config=alchemy_config(base_settings(url))).upgrade("head")


def base_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "dev",
        "database_url": url,
        "jwt_secret": "test-jwt-secret-" + "x" * 32,
        "token_keys": (("k2", b"test-token-key-two-" + b"y" * 32), ("k1", b"test-token-key-one-" + b"z" * 32)),
        "recipient_hash_key": b"test-recipient-hash-key-" + b"r" * 32,
        "scheduler_enabled": False,
        "public_base_url": "http://testserver.local",
        "spool_dir": str(SPOOL_ROOT),  # hits are spooled before they are answered: not into the checkout's var/
        "spool_loader": "loop",  # a loader process costs each app start ~1.5 s; tests/unit/tracking/test_spool_loader.py and the servers use it
    }
    values.update(overrides)
    return Settings(**values)


async def _admin_execute(admin_url: str, statement: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _postgres_database() -> Iterator[str]:
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    try:
        _run(asyncio.wait_for(_admin_execute(admin_url, "SELECT 1"), timeout=5))
    except Exception as exc:  # noqa: BLE001  (any failure to connect means: not reachable)
        message = f"PostgreSQL not reachable at {admin_url} ({exc.__class__.__name__}); set TEST_DATABASE_URL"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but {message}", pytrace=False)
        pytest.skip(f"{message} to run the PostgreSQL half")
    name = f"governance_test_{uuid.uuid4().hex[:12]}"
    _run(_admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _run(_admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _redis_call(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        return await work(client)
    finally:
        await client.aclose()


async def _delete_namespace(client: Any, namespace: str) -> None:
    async for key in client.scan_iter(match=f"{namespace}*", count=500):
        await client.delete(key)


@dataclass(frozen=True)
class RedisServer:
    """The test Redis and this session's key prefix: `MS_REDIS_NAMESPACE` values start with it."""

    url: str
    prefix: str

    def namespace(self) -> str:
        """A fresh namespace of its own (apps given the same one share their state)."""
        return f"{self.prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """Redis at TEST_REDIS_URL (default 127.0.0.1:6379): skipped with a message when absent, a failure
    when REQUIRE_REDIS=1 (CI). Every key this session writes starts with its prefix and is deleted afterwards."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
    try:
        _run(asyncio.wait_for(_redis_call(url, lambda client: client.ping()), timeout=5))
    except Exception as exc:  # noqa: BLE001  (any failure to connect means: not reachable)
        message = f"Redis not reachable at {url} ({exc.__class__.__name__}); set TEST_REDIS_URL"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {message}", pytrace=False)
        pytest.skip(f"{message} to run the Redis tests")
    server = RedisServer(url, f"governance_test_{uuid.uuid4().hex[:12]}_")
    try:
        yield server
    finally:
        _run(_redis_call(url, lambda client: _delete_namespace(client, server.prefix)))


@pytest.fixture(
    scope="session",
    params=[pytest.param("sqlite", marks=pytest.mark.sqlite), pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of each engine, shared by the session; `db` empties it per test."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'governance.db'}"
        _migrate(url)
        yield url
        return
    for url in _postgres_database():
        _migrate(url)
        yield url


async def _empty_all_tables(url: str) -> None:
    async with standalone_session(url) as session:
        tables = [t for t in await _table_names(session) if t != "alembic_version"]
        if url.startswith("postgresql"):
            if tables:
                await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await session.execute(text(f'DELETE FROM "{table}"'))


async def _table_names(session: AsyncSession) -> list[str]:
    def names(sync_session: Any) -> list[str]:
        from sqlalchemy import inspect

        return inspect(sync_session.connection()).get_table_names()

    return await session.run_sync(names)


class Database:
    """Arrange and assert against the test database from synchronous tests."""

    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work(session)` in its own committed transaction and return its result."""

        async def go() -> T:
            async with standalone_session(self.url) as session:
                return await work(session)

        return _run(go())

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.run(lambda s: s.scalar(text(sql), params))

    def create_user(self, *roles: str, email: str | None = None, account: str | None = None) -> dict[str, Any]:
        async def create(session: AsyncSession) -> dict[str, Any]:
            account_id = (await auth_service.get_or_create_account(session, account)).id if account else None
            user = await auth_service.create_user(
                session,
                email=email or f"{'-'.join(roles)}-{uuid.uuid4().hex[:6]}@example.test",
                password=PASSWORD,
                roles=list(roles),
                account_id=account_id,
            )
            return {"id": user.id, "email": user.email, "password": PASSWORD, "account_id": account_id}

        return self.run(create)

    def create_api_key(self, account: str) -> str:
        async def create(session: AsyncSession) -> str:
            account_row = await auth_service.get_or_create_account(session, account)
            return (await auth_service.create_api_key(session, account_id=account_row.id, name="test"))[1]

        return self.run(create)


@pytest.fixture
def db(database_url: str) -> Database:
    _run(_empty_all_tables(database_url))
    return Database(database_url)


@pytest.fixture
def settings(db: Database) -> Settings:
    return base_settings(db.url)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def cli(settings: Settings) -> Callable[..., Result]:
    """`cli("users", "create", ..., input="...")`: `python -m governance ...` run in this process on an
    app of its own with the test settings (its own engine, as a separate process would have)."""
    env = LitestarEnv(app_path="governance.asgi:app", app=create_app(settings), cwd=Path.cwd())

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(litestar_group, list(args), obj=env, input=input)

    return run


def as_peer(app: Litestar, peer: str) -> Litestar:
    """The test transport always says the peer is `testclient`; this app sees `peer` instead (a proxy, a client)."""
    handler = app.asgi_handler

    async def with_peer(scope: Any, receive: Any, send: Any) -> None:
        scope["client"] = (peer, 51234)
        await handler(scope, receive, send)

    app.asgi_handler = with_peer  # type: ignore[method-assign]
    return app


def login(client: TestClient, user: dict[str, Any]) -> dict[str, str]:
    """Sign `user` in on `client` (cookies kept by the client); returns the CSRF header to send."""
    response = client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


@pytest.fixture
def login_as(client: TestClient, db: Database) -> Callable[..., dict[str, str]]:
    """`login_as("privacy_staff")` or `login_as("member", account="acme")`: a new user, signed in."""

    def sign_in(*roles: str, account: str | None = None) -> dict[str, str]:
        return login(client, db.create_user(*roles, account=account))

    return sign_in

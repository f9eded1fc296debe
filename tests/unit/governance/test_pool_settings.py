"""MS_DB_POOL_SIZE / MS_DB_MAX_OVERFLOW / MS_DB_POOL_TIMEOUT_SECONDS reach PostgreSQL's engine pool."""

import pytest

from governance.core.db import alchemy_config, pool_options
from governance.core.settings import Settings, SettingsError

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def test_the_pool_settings_size_the_postgresql_engine():
    settings = Settings.from_env(
        {"MS_DATABASE_URL": PG, "MS_DB_POOL_SIZE": "7", "MS_DB_MAX_OVERFLOW": "0", "MS_DB_POOL_TIMEOUT_SECONDS": "3"},
        env_file=None,
    )
    pool = alchemy_config(settings).get_engine().pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (7, 0, 3)  # type: ignore[attr-defined]


def test_defaults_are_sqlalchemys_and_sqlite_keeps_its_own_pool():
    settings = Settings.from_env({"MS_DATABASE_URL": PG}, env_file=None)
    assert pool_options(settings) == {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "pool_timeout": 30}
    assert pool_options(settings.with_overrides(database_url="sqlite+aiosqlite:///:memory:")) == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MS_DB_POOL_SIZE", "0"),
        ("MS_DB_POOL_SIZE", "many"),
        ("MS_DB_MAX_OVERFLOW", "-1"),
        ("MS_DB_POOL_TIMEOUT_SECONDS", "0"),
    ],
)
def test_a_bad_pool_setting_names_itself(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value}, env_file=None)

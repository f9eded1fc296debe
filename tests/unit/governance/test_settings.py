"""Settings come from the environment once; production refuses to start without its keys."""

import logging
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from governance.core.settings import Settings, SettingsError

KEYS = {
    "MS_JWT_SECRET": "s" * 40,
    "MS_TOKEN_KEYS": "k2:" + "a" * 40 + ",k1:" + "b" * 40,
    "MS_RECIPIENT_HASH_KEY": "r" * 40,
}


def test_production_without_keys_is_a_startup_error():
    with pytest.raises(SettingsError, match="MS_JWT_SECRET, MS_TOKEN_KEYS, MS_RECIPIENT_HASH_KEY must be set"):
        Settings.from_env({"MS_ENV": "production"}, env_file=None)


def test_dev_without_keys_generates_them_once_into_var_and_warns(tmp_path, caplog):
    secrets_file = tmp_path / "var" / "dev-secrets.json"
    environ = {"MS_DEV_SECRETS_FILE": str(secrets_file)}
    with caplog.at_level(logging.WARNING):
        first = Settings.from_env(environ, env_file=None)
    second = Settings.from_env(environ, env_file=None)  # another worker, another process start

    assert len(first.jwt_secret) >= 32 and first.token_keys and len(first.recipient_hash_key) == 32
    assert (first.jwt_secret, first.token_keys, first.recipient_hash_key) == (
        second.jwt_secret,
        second.token_keys,
        second.recipient_hash_key,
    )
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "generated once, shared by every worker" in caplog.text
    assert list(secrets_file.parent.iterdir()) == [secrets_file]  # no temporary file left behind


def test_dev_keys_given_in_the_environment_win_over_the_file(tmp_path):
    environ = {"MS_DEV_SECRETS_FILE": str(tmp_path / "s.json"), "MS_JWT_SECRET": "j" * 40}
    settings = Settings.from_env(environ, env_file=None)

    assert settings.jwt_secret == "j" * 40 and settings.token_keys[0][0] == "dev"


def test_workers_starting_at_once_agree_on_the_dev_keys(tmp_path):
    secrets_file = tmp_path / "dev-secrets.json"
    environ = {"MS_DEV_SECRETS_FILE": str(secrets_file)}
    with ThreadPoolExecutor(8) as pool:
        loaded = list(pool.map(lambda _: Settings.from_env(environ, env_file=None), range(16)))

    assert len({(s.jwt_secret, s.token_keys, s.recipient_hash_key) for s in loaded}) == 1


def test_a_dev_secrets_file_readable_by_others_is_refused(tmp_path):
    secrets_file = tmp_path / "dev-secrets.json"
    Settings.from_env({"MS_DEV_SECRETS_FILE": str(secrets_file)}, env_file=None)
    secrets_file.chmod(0o644)

    with pytest.raises(SettingsError, match="readable by its owner only"):
        Settings.from_env({"MS_DEV_SECRETS_FILE": str(secrets_file)}, env_file=None)


def test_production_never_uses_the_dev_secrets_file(tmp_path):
    secrets_file = tmp_path / "dev-secrets.json"
    Settings.from_env({"MS_DEV_SECRETS_FILE": str(secrets_file)}, env_file=None)

    with pytest.raises(SettingsError, match="must be set when MS_ENV=production"):
        Settings.from_env({"MS_ENV": "production", "MS_DEV_SECRETS_FILE": str(secrets_file)}, env_file=None)


def test_keys_are_read_newest_first():
    settings = Settings.from_env({"MS_ENV": "production", **KEYS}, env_file=None)

    assert settings.signing_key_id == "k2"
    assert [key_id for key_id, _ in settings.token_keys] == ["k2", "k1"]
    assert settings.cookie_secure is True  # production defaults to Secure cookies


def test_the_spool_is_loaded_by_a_process_of_its_own_unless_told_to_load_in_the_event_loop():
    assert Settings.from_env(KEYS, env_file=None).spool_loader == "process"
    assert Settings.from_env({**KEYS, "MS_SPOOL_LOADER": " loop "}, env_file=None).spool_loader == "loop"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MS_COOKIE_SECURE", "maybe", "MS_COOKIE_SECURE must be true or false"),
        ("MS_ENV", "staging", "MS_ENV must be one of"),
        ("MS_TOKEN_KEYS", "short:abc", "secret of 32\\+ characters"),
        ("MS_COOKIE_GUARD_MODE", "block", "MS_COOKIE_GUARD_MODE must be"),
        ("MS_LOGIN_MAX_FAILURES", "five", "MS_LOGIN_MAX_FAILURES must be a whole number"),
        ("MS_JOURNEY_BATCHES_PER_MINUTE", "0", "must be positive"),
        ("MS_RECIPIENT_HASH_KEY", "short", "at least 32 characters"),
        ("MS_CORS_ORIGINS", "*", "list exact origins"),
        ("MS_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip", "IP address or CIDR"),
        ("MS_SPOOL_LOADER", "thread", "MS_SPOOL_LOADER must be process or loop"),
    ],
)
def test_malformed_settings_name_the_problem(name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**KEYS, name: value}, env_file=None)


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("MS_PUBLIC_BASE_URL=https://from-file.example/\nMS_TOKEN_IN_BODY=true\n")

    settings = Settings.from_env({**KEYS, "MS_TOKEN_IN_BODY": "false"}, env_file=env_file)

    assert settings.public_base_url == "https://from-file.example"
    assert settings.token_in_body is False

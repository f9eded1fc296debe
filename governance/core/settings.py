"""Settings, read once from the environment (and an optional `.env`) into a frozen dataclass.

Every setting has the prefix `MS_`; README.md has the table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from governance.core.proxies import trusted_networks

log = logging.getLogger(__name__)

ENVIRONMENTS = ("dev", "production")
SPOOL_LOADERS = ("process", "loop")  # where the tracking-hit spool is loaded: a process per worker, or its event loop


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {value}")
    return value


def _seconds(name: str, raw: str) -> float:
    """A positive number of seconds (fractions allowed)."""
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise SettingsError(f"{name} must be a positive number of seconds, not {raw}")
    return value


def _whole(name: str, raw: str) -> int:
    """Zero or more."""
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must be zero or more, not {value}")
    return value


def _proxies(name: str, raw: str) -> tuple[str, ...]:
    proxies = tuple(p.strip() for p in raw.split(",") if p.strip())
    try:
        trusted_networks(proxies)
    except ValueError as exc:
        raise SettingsError(f"{name}: each entry is an IP address or CIDR ({exc})") from None
    return proxies


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*" or not origin.startswith(("https://", "http://")):
            raise SettingsError(f"{name}: list exact origins such as https://app.mailssetu.in, not {origin!r}")
    return origins


def _storage_key(name: str, raw: str) -> str:
    key = raw.strip()
    if len(key) > 255 or any(not char.isprintable() for char in key):
        raise SettingsError(f"{name}: a storage key name of at most 255 printable characters, not {raw!r}")
    return key


def _redis_url(name: str, raw: str) -> str:
    url = raw.strip()
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"{name}: a redis://host:port/db (or rediss://, unix://) URL, not {raw!r}")
    return url


def _site_urls(name: str, raw: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"{name}: list http(s) page URLs such as https://mailssetu.in/, not {url!r}")
    return urls


def _signing_keys(name: str, raw: str) -> tuple[tuple[str, bytes], ...]:
    """`id:secret,id:secret`, newest first: the first signs, all of them verify."""
    keys = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id.isalnum() or len(secret) < 32:
            raise SettingsError(
                f"{name}: each key is `id:secret` with an alphanumeric id and a secret of 32+ characters"
            )
        keys.append((key_id, secret.encode()))
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise SettingsError(f"{name}: key ids must be unique")
    return tuple(keys)


@dataclass(frozen=True)
class Settings:
    env: str = "dev"
    database_url: str = "sqlite+aiosqlite:///var/governance.db"
    jwt_secret: str = ""
    token_keys: tuple[tuple[str, bytes], ...] = ()
    cookie_secure: bool = False
    public_base_url: str = "http://127.0.0.1:8000"
    token_in_body: bool = False
    log_level: str = "INFO"
    # enforcement (governance/enforcement): enforce | report | off
    cookie_guard_mode: str = "enforce"
    # retention scheduler (governance/retention)
    scheduler_enabled: bool = True
    purge_at_utc: str = "03:00"
    # journey analytics: proxies whose geo headers are trusted (IPs or CIDRs)
    trusted_proxies: tuple[str, ...] = ()
    journey_batches_per_minute: int = 120  # per client, on POST /journey/events
    # browser origins (the Next.js dashboard) allowed to call the API with credentials
    cors_origins: tuple[str, ...] = ()
    login_max_failures: int = 5
    login_window_seconds: int = 900
    # key of the keyed hashes that store recipient suppressions (tracking/); rotating it orphans them
    recipient_hash_key: bytes = b""
    # where tracking hits and journey events are fsynced before they are answered (tracking/spool.py)
    spool_dir: str = "var/spool"
    # where the tracking-hit spool is loaded into the database: "process", a loader process per worker
    # (tracking/spool_loader.py: the tracking routes keep the event loop), or "loop", in the worker's event loop
    spool_loader: str = "process"
    # processes rewriting large emails off the event loop (tracking/rewriting.py); 0: one worker thread
    rewrite_processes: int = 2
    # enforcement: the localStorage key of the token-in-body Bearer token (only with token_in_body);
    # empty: the name the policy declares. Scheduled live-site audits: site URLs and when.
    token_in_body_key: str = ""
    audit_urls: tuple[str, ...] = ()
    audit_schedule: str = "04:00"
    # --- sign-in and slow clients (issue 14)
    login_account_max_failures: int = 50  # failed logins in the window, all clients together
    body_timeout_seconds: float = 10.0  # a request body must arrive within this (408 otherwise)
    # dev only: where secrets not given in the environment are generated once and reused (mode 0600)
    dev_secrets_file: str = "var/dev-secrets.json"
    # shared state across workers and instances (governance/core/stores.py, policy notifications): empty is in memory
    redis_url: str = ""
    redis_namespace: str = "mailsetu"
    # PostgreSQL connections per worker process: kept open, extra under load, and how long a request
    # waits for one before failing (SQLite uses its own pool and ignores these)
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_pool_timeout_seconds: int = 30

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def signing_key_id(self) -> str:
        return self.token_keys[0][0]

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
        source: dict[str, str] = {}
        if env_file and Path(env_file).is_file():
            source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        source.update(os.environ if environ is None else environ)

        def get(name: str, default: str = "") -> str:
            return source.get(f"MS_{name}", default)

        env = get("ENV", "dev")
        if env not in ENVIRONMENTS:
            raise SettingsError(f"MS_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        spool_loader = get("SPOOL_LOADER", cls.spool_loader).strip()
        if spool_loader not in SPOOL_LOADERS:
            raise SettingsError(f"MS_SPOOL_LOADER must be {' or '.join(SPOOL_LOADERS)}, not {spool_loader!r}")
        mode = get("COOKIE_GUARD_MODE", "enforce")
        if mode not in {"enforce", "report", "off"}:
            raise SettingsError(f"MS_COOKIE_GUARD_MODE must be enforce, report or off, not {mode!r}")
        settings = cls(
            env=env,
            database_url=get("DATABASE_URL", cls.database_url),
            jwt_secret=get("JWT_SECRET"),
            token_keys=_signing_keys("MS_TOKEN_KEYS", get("TOKEN_KEYS")),
            cookie_secure=_bool("MS_COOKIE_SECURE", get("COOKIE_SECURE", "true" if env == "production" else "false")),
            public_base_url=get("PUBLIC_BASE_URL", cls.public_base_url).rstrip("/"),
            token_in_body=_bool("MS_TOKEN_IN_BODY", get("TOKEN_IN_BODY", "false")),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            cookie_guard_mode=mode,
            scheduler_enabled=_bool("MS_SCHEDULER_ENABLED", get("SCHEDULER_ENABLED", "true")),
            purge_at_utc=get("PURGE_AT_UTC", "03:00"),
            trusted_proxies=_proxies("MS_TRUSTED_PROXIES", get("TRUSTED_PROXIES")),
            journey_batches_per_minute=_int("MS_JOURNEY_BATCHES_PER_MINUTE", get("JOURNEY_BATCHES_PER_MINUTE", "120")),
            cors_origins=_origins("MS_CORS_ORIGINS", get("CORS_ORIGINS")),
            login_max_failures=_int("MS_LOGIN_MAX_FAILURES", get("LOGIN_MAX_FAILURES", "5")),
            login_window_seconds=_int("MS_LOGIN_WINDOW_SECONDS", get("LOGIN_WINDOW_SECONDS", "900")),
            recipient_hash_key=get("RECIPIENT_HASH_KEY").encode(),
            spool_dir=get("SPOOL_DIR", cls.spool_dir).strip() or cls.spool_dir,
            spool_loader=spool_loader,
            rewrite_processes=_whole("MS_REWRITE_PROCESSES", get("REWRITE_PROCESSES", "2")),
            token_in_body_key=_storage_key("MS_TOKEN_IN_BODY_KEY", get("TOKEN_IN_BODY_KEY")),
            audit_urls=_site_urls("MS_AUDIT_URLS", get("AUDIT_URLS")),
            audit_schedule=get("AUDIT_SCHEDULE", "04:00").strip(),
            login_account_max_failures=_int("MS_LOGIN_ACCOUNT_MAX_FAILURES", get("LOGIN_ACCOUNT_MAX_FAILURES", "50")),
            body_timeout_seconds=_seconds("MS_BODY_TIMEOUT_SECONDS", get("BODY_TIMEOUT_SECONDS", "10")),
            redis_url=_redis_url("MS_REDIS_URL", get("REDIS_URL")),
            redis_namespace=get("REDIS_NAMESPACE", cls.redis_namespace).strip() or cls.redis_namespace,
            dev_secrets_file=get("DEV_SECRETS_FILE", cls.dev_secrets_file).strip() or cls.dev_secrets_file,
            db_pool_size=_int("MS_DB_POOL_SIZE", get("DB_POOL_SIZE", "5")),
            db_max_overflow=_whole("MS_DB_MAX_OVERFLOW", get("DB_MAX_OVERFLOW", "10")),
            db_pool_timeout_seconds=_int("MS_DB_POOL_TIMEOUT_SECONDS", get("DB_POOL_TIMEOUT_SECONDS", "30")),
        )
        if settings.token_in_body_key and not settings.token_in_body:
            log.warning("MS_TOKEN_IN_BODY_KEY is set but MS_TOKEN_IN_BODY is off: the key is not allowed")
        return settings.with_secrets()

    def with_secrets(self) -> Settings:
        """Production refuses to start without keys; dev generates them and says so."""
        secrets_needed = (
            ("MS_JWT_SECRET", self.jwt_secret),
            ("MS_TOKEN_KEYS", self.token_keys),
            ("MS_RECIPIENT_HASH_KEY", self.recipient_hash_key),
        )
        missing = [name for name, value in secrets_needed if not value]
        if self.jwt_secret and len(self.jwt_secret) < 32:
            raise SettingsError("MS_JWT_SECRET must be at least 32 characters")
        if self.recipient_hash_key and len(self.recipient_hash_key) < 32:
            raise SettingsError("MS_RECIPIENT_HASH_KEY must be at least 32 characters")
        if not missing:
            return self
        if self.is_production:
            raise SettingsError(f"{', '.join(missing)} must be set when MS_ENV=production")
        stored = _dev_secrets(Path(self.dev_secrets_file))
        log.warning(
            "%s not set: using the dev secrets in %s (generated once, shared by every worker)",
            ", ".join(missing),
            self.dev_secrets_file,
        )
        return replace(
            self,
            jwt_secret=self.jwt_secret or stored["jwt_secret"],
            token_keys=self.token_keys or (("dev", stored["token_key"].encode()),),
            recipient_hash_key=self.recipient_hash_key or bytes.fromhex(stored["recipient_hash_key"]),
        )


_DEV_SECRET_NAMES = ("jwt_secret", "token_key", "recipient_hash_key")


def _dev_secrets(path: Path) -> dict[str, str]:
    """Read the dev secrets file, creating it first if absent.

    Creation is atomic: the secrets are written to a private temporary file (mode 0600) which is
    then hard-linked to `path`; the link fails if another worker got there first, and then both
    read the winner's file, so every worker started at once agrees on the same keys.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = {
            "jwt_secret": secrets.token_urlsafe(48),
            "token_key": secrets.token_urlsafe(48),
            "recipient_hash_key": secrets.token_bytes(32).hex(),
        }
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(fresh, handle)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another worker created it first: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"{path}: the dev secrets file cannot be read ({exc}); delete it to generate new ones"
        ) from None
    if not isinstance(stored, dict) or any(not isinstance(stored.get(name), str) for name in _DEV_SECRET_NAMES):
        raise SettingsError(
            f"{path}: the dev secrets file lacks {', '.join(_DEV_SECRET_NAMES)}; delete it to regenerate"
        )
    if path.stat().st_mode & 0o077:
        raise SettingsError(f"{path}: the dev secrets file must be readable by its owner only (chmod 600 {path})")
    return {name: stored[name] for name in _DEV_SECRET_NAMES}

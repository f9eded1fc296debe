"""`python -m governance audit URL...`: drift between a live site and the cookie policy in force."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import click
import msgspec

from governance.core.clock import utcnow
from governance.core.plugin import app_command, database_of, run_in_app, settings_of
from governance.enforcement import audit, audits
from governance.enforcement.allowlist import Deployment
from governance.enforcement.audit import report
from governance.enforcement.audit.claims import CLAIMS_FILE
from policy_docs import service as policy_service
from policy_docs.schemas import PolicySnapshot

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from governance.enforcement.models import StoredAudit


def _fail(message: str) -> NoReturn:
    """Exit 2: the audit could not run (1 is kept for drift)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _policy_in_force(app: Litestar) -> audit.AuditedPolicy:
    async def load(session: AsyncSession) -> PolicySnapshot | None:
        return await policy_service.snapshot_at(session, utcnow())

    snapshot = run_in_app(app, load)
    if snapshot is None:
        _fail("no cookie policy is in force in this database (MS_DATABASE_URL); start the app once to seed it")
    return audit.policy_from_snapshot(Deployment.of(settings_of(app)).snapshot(snapshot), source="this database")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310  (an operator-given URL)
        data: bytes = response.read()
        return data


def _remote_policy(allowlist_url: str) -> tuple[audit.AuditedPolicy, bool, list[str]]:
    """Declarations from another deployment's allowlist; its "What we do not use" list and sections
    from its public `/api/policy/current` beside it, when that answers."""
    try:
        doc = json.loads(_get(allowlist_url))
    except (OSError, ValueError) as exc:
        _fail(f"could not read the allowlist at {allowlist_url}: {exc}")
    parts = urlsplit(allowlist_url)
    policy_url = f"{parts.scheme}://{parts.netloc}/api/policy/current"
    warnings, not_used, sections = [], [], None
    try:
        snapshot = msgspec.json.decode(_get(policy_url), type=PolicySnapshot)
        full = audit.policy_from_snapshot(snapshot, source=allowlist_url)
        not_used, sections = full.not_used, full.sections
    except (OSError, ValueError) as exc:
        warnings.append(f"no policy text at {policy_url} ({exc}): vendors are judged by the claims only")
    policy = audit.AuditedPolicy(
        declarations=audit.declarations_from_allowlist(doc),
        number=doc.get("policy_version"),
        source=allowlist_url,
        not_used=not_used,
        sections=sections,
    )
    return policy, bool(doc.get("require_secure")), warnings


def _write(path: str, data: str | bytes, what: str) -> None:
    try:
        Path(path).write_bytes(data.encode() if isinstance(data, str) else data)
    except OSError as exc:
        _fail(f"could not write the {what} to {path}: {exc}")


@app_command(
    name="audit",
    help=(
        "Load pages in headless Chromium and report every cookie, storage item and request that drifts "
        "from the policy in force, and every checkable claim of the policy that does not hold. "
        "Exit 0 clean, 1 drift, 2 could not audit (a page failed to load; the rest is still reported)."
    ),
)
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report on stdout; json is quiet on stderr.",
)
@click.option(
    "--allowlist",
    "allowlist_url",
    default=None,
    help="Audit against another deployment's /governance/allowlist.json instead of this database.",
)
@click.option("--chromium", default=audit.CHROMIUM, show_default=True, help="Chromium executable.")
@click.option(
    "--connect",
    default=None,
    metavar="ENDPOINT",
    help="Use a running Chromium (its DevTools endpoint, http://127.0.0.1:9222) instead of launching one; its profile must keep third-party cookies, as the launched one does (see audit.write_profile).",
)
@click.option(
    "--chromium-arg",
    "chromium_args",
    multiple=True,
    metavar="ARG",
    help="Extra Chromium switch, e.g. --proxy-server=...; repeatable.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0, max=120),
    default=2.0,
    show_default=True,
    help="Seconds to wait after the network is idle.",
)
@click.option(
    "--second-look",
    type=click.FloatRange(min=0, max=600),
    default=5.0,
    show_default=True,
    help="Seconds until a second snapshot (0: none).",
)
@click.option(
    "--crawl",
    type=click.IntRange(min=0, max=500),
    default=0,
    show_default=True,
    help="Follow same-site links, up to N more pages.",
)
@click.option(
    "--timeout", type=click.FloatRange(min=1, max=600), default=20.0, show_default=True, help="Seconds per navigation."
)
@click.option(
    "--first-party",
    "first_party",
    multiple=True,
    metavar="HOST",
    help="Another host the site controls (beacons to it are first-party); repeatable.",
)
@click.option(
    "--claims",
    "claims_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=CLAIMS_FILE,
    show_default=False,
    help="The policy's checkable claims (default: the seed's claims.toml).",
)
@click.option(
    "--html",
    "html_path",
    default=None,
    metavar="FILE",
    help="Write the report as one self-contained HTML file, with a screenshot per page.",
)
@click.option(
    "--har", "har_path", default=None, metavar="FILE", help="Record every request and response as a HAR file."
)
@click.option(
    "--store",
    is_flag=True,
    help="Also store the run in this database (GET /api/audits) and fold its findings into drift.",
)
def audit_command(
    app: Litestar,
    urls: tuple[str, ...],
    fmt: str,
    allowlist_url: str | None,
    chromium: str,
    connect: str | None,
    chromium_args: tuple[str, ...],
    settle: float,
    second_look: float,
    crawl: int,
    timeout: float,
    first_party: tuple[str, ...],
    claims_path: Path,
    html_path: str | None,
    har_path: str | None,
    store: bool,
) -> None:
    try:
        audit.check_urls(urls)
        claims = audit.load_claims(claims_path)
    except (ValueError, audit.ClaimsError) as exc:
        _fail(str(exc))
    if store and allowlist_url:
        _fail("--store keeps runs of this deployment's policy: it cannot be used with --allowlist")
    warnings: list[str] = []
    if allowlist_url:
        policy, require_secure, warnings = _remote_policy(allowlist_url)
    else:
        policy, require_secure = _policy_in_force(app), settings_of(app).cookie_secure
    options = audit.AuditOptions(
        settle_s=settle,
        second_look_s=second_look,
        crawl=crawl,
        timeout_s=timeout,
        first_party_hosts=first_party,
        require_secure=require_secure,
        screenshots=html_path is not None,
        har_path=har_path,
        chromium=chromium,
        chromium_args=chromium_args,
        connect=connect,
    )
    progress = None if fmt == "json" else _progress
    if store:
        run = _audit_and_store(app, list(urls), policy, claims, options, progress)
    else:
        try:
            run = asyncio.run(audit.run_audit(list(urls), policy, claims=claims, options=options, progress=progress))
        except audit.BrowserMissing as exc:
            _fail(str(exc))
    run.warnings[:0] = warnings
    if html_path:
        _write(html_path, report.as_html(run), "HTML report")
    click.echo(report.as_json(run) if fmt == "json" else report.as_text(run))
    sys.exit(run.exit_code)


def _audit_and_store(
    app: Litestar,
    urls: list[str],
    policy: audit.AuditedPolicy,
    claims: list[audit.Claim],
    options: audit.AuditOptions,
    progress: Callable[[str], None] | None,
) -> audit.AuditRun:
    async def go() -> tuple[StoredAudit | None, audit.AuditRun | None]:
        engine = database_of(app).get_engine()
        try:
            return await audits.run_and_store(
                engine, urls, policy, claims=claims, options=options, trigger="cli", actor="cli", progress=progress
            )
        finally:
            await engine.dispose()

    stored, run = asyncio.run(go())
    assert stored is not None  # only a scheduled slot can be found taken
    if run is None:
        _fail(f"{stored.error} (stored as failed audit run {stored.id})")
    click.echo(f"stored as audit run {stored.id}", err=True)
    return run


def _progress(message: str) -> None:
    click.echo(message, err=True)

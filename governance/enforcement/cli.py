"""`python -m governance audit URL...`: drift between a live site and the cookie policy in force."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from typing import NoReturn

import click

from governance.enforcement import audit


def _policy_in_force(database_url: str) -> tuple[list, int | None]:
    from governance.core.db import standalone_session
    from policy_docs import service

    async def load():
        async with standalone_session(database_url) as session:
            return await service.snapshot_at(session, service.now())

    snapshot = asyncio.run(load())
    if snapshot is None:
        _fail("no cookie policy is in force in this database (MS_DATABASE_URL); start the app once to seed it")
    return list(snapshot.declarations), snapshot.number


def _fail(message: str) -> NoReturn:
    """Exit 2: the audit could not run (1 is kept for drift)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _remote_allowlist(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310  (an operator-given URL)
        return json.load(response)


@click.command(
    name="audit",
    help="Load pages in headless Chromium and report cookies/storage keys that drift from the policy in force. Exit 1 on undeclared or mis-declared items.",
)
@click.argument("urls", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--allowlist",
    "allowlist_url",
    default=None,
    help="Audit against another deployment's /governance/allowlist.json instead of this database.",
)
@click.option("--chromium", default=audit.CHROMIUM, show_default=True, help="Chromium executable.")
def audit_command(urls: tuple[str, ...], fmt: str, allowlist_url: str | None, chromium: str) -> None:
    from governance.core.settings import Settings

    if allowlist_url:
        try:
            doc = _remote_allowlist(allowlist_url)
        except (OSError, ValueError) as exc:
            _fail(f"could not read the allowlist at {allowlist_url}: {exc}")
        declarations, version, require_secure = (
            audit.declarations_from_allowlist(doc),
            doc.get("policy_version"),
            bool(doc.get("require_secure")),
        )
    else:
        settings = Settings.from_env()
        (declarations, version), require_secure = _policy_in_force(settings.database_url), settings.cookie_secure
    try:
        report = audit.run_audit(
            list(urls), declarations, policy_version=version, require_secure=require_secure, chromium=chromium
        )
    except audit.BrowserMissing as exc:
        _fail(str(exc))
    click.echo(json.dumps(report.as_json(), indent=2) if fmt == "json" else report.as_text())
    sys.exit(1 if report.drift else 0)

"""The live-site audit: load pages in Chromium, see everything they store and load, judge it
against the policy in force and its checkable claims.

    run = await run_audit(urls, policy, claims=load_claims(), options=AuditOptions(crawl=5))
    run.exit_code, msgspec.json.encode(run), report.html(run)

`collect` drives the browser (DevTools protocol only), `judge` is pure, `report` renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from governance.enforcement.audit.claims import ClaimsError, load_claims, section_texts
from governance.enforcement.audit.collect import CHROMIUM_ARGS, BrowserMissing, write_profile
from governance.enforcement.audit.collect import collect as collect_observation
from governance.enforcement.audit.judge import build_run
from governance.enforcement.audit.model import AuditedPolicy, AuditOptions, AuditRun, Claim
from governance.enforcement.audit.vendors import VendorTable, default_vendors
from policy_docs.schemas import Declaration, Duration, PolicySnapshot

CHROMIUM = AuditOptions().chromium

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "AuditOptions",
    "AuditRun",
    "AuditedPolicy",
    "BrowserMissing",
    "ClaimsError",
    "declarations_from_allowlist",
    "load_claims",
    "policy_from_snapshot",
    "run_audit",
    "write_profile",
]


def check_urls(urls: Iterable[str]) -> list[str]:
    """The URLs as given, or ValueError naming the first one that is not an http(s) URL."""
    checked = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        checked.append(url)
    if not checked:
        raise ValueError("no URL to audit")
    return checked


async def run_audit(
    urls: list[str],
    policy: AuditedPolicy,
    *,
    claims: list[Claim] | None = None,
    options: AuditOptions | None = None,
    vendors: VendorTable | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditRun:
    """Audit `urls` as one first-time visitor. Pages that cannot be loaded are reported in the
    run (status, error), never raised; BrowserMissing when no browser can be had."""
    options = options or AuditOptions()
    started_at = datetime.now(UTC)
    observation = await collect_observation(check_urls(urls), options, progress)
    return build_run(list(urls), observation, policy, claims or [], options, vendors or default_vendors(), started_at)


def policy_from_snapshot(snapshot: PolicySnapshot, source: str) -> AuditedPolicy:
    return AuditedPolicy(
        declarations=list(snapshot.declarations),
        number=snapshot.number,
        source=source,
        not_used=list(snapshot.not_used),
        sections=section_texts(snapshot),
    )


def declarations_from_allowlist(doc: dict[str, Any]) -> list[Declaration]:
    """Rebuild declarations from `GET /governance/allowlist.json` (for auditing other deployments)."""
    result = []
    for kind in ("cookie", "local_storage", "session_storage"):
        for item in doc.get(kind, []):
            duration = Duration(kind=item.get("duration", "persistent"), text="", seconds=item.get("max_age"))
            attributes = {k: item[k] for k in ("http_only", "secure", "same_site", "domain", "path") if k in item}
            result.append(
                Declaration(
                    kind=kind,
                    name=item["name"],
                    match=item.get("match", "exact"),
                    category="",
                    duration=duration,
                    purpose="",
                    **attributes,
                )
            )
    return result

"""Audit of a live site: load pages in headless Chromium, compare what they store with the policy.

Collects every cookie (with its attributes) and every localStorage/sessionStorage key after
each page has loaded, and reports drift: undeclared items, attribute mismatches, and declared
items never seen (informational). The cookie rules are the Set-Cookie guard's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from governance.enforcement.allowlist import CompiledAllowlist
from governance.enforcement.cookies import SetCookie, mismatches
from policy_docs.schemas import Declaration, Duration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
STORAGE_KEYS = "() => ({local_storage: Object.keys(localStorage), session_storage: Object.keys(sessionStorage)})"
INSTALL_HELP = (
    "the audit needs Playwright and Debian's Chromium:\n"
    "  pip install playwright        (or: pip install 'mailsetu-governance[audit]')\n"
    "  apt-get install chromium      (or pass --chromium PATH to another Chromium build)"
)


class BrowserMissing(RuntimeError):
    """Playwright or Chromium is not installed; the message says how to install them."""


@dataclass
class Item:
    kind: str
    name: str
    page: str  # where it was first seen
    reasons: list[str] = field(default_factory=list)


@dataclass
class AuditReport:
    pages: list[str]
    policy_version: int | None
    undeclared: list[Item] = field(default_factory=list)
    mismatched: list[Item] = field(default_factory=list)
    not_seen: list[Declaration] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        """Undeclared or mis-declared items: what makes the command exit 1."""
        return bool(self.undeclared or self.mismatched)

    def as_json(self) -> dict[str, Any]:
        def item(i: Item) -> dict[str, Any]:
            return {"kind": i.kind, "name": i.name, "page": i.page, **({"reasons": i.reasons} if i.reasons else {})}

        return {
            "policy_version": self.policy_version,
            "pages": self.pages,
            "drift": self.drift,
            "undeclared": [item(i) for i in self.undeclared],
            "mismatched": [item(i) for i in self.mismatched],
            "not_seen": [{"kind": d.kind, "name": d.name, "match": d.match} for d in self.not_seen],
        }

    def as_text(self) -> str:
        lines = [f"Audit of {len(self.pages)} page(s) against cookie policy v{self.policy_version}"]
        for title, items in (("Undeclared", self.undeclared), ("Attribute mismatches", self.mismatched)):
            lines.append(f"{title}: {len(items)}")
            lines += [
                f"  {i.kind:<15} {i.name}  ({'; '.join(i.reasons) + ', ' if i.reasons else ''}first seen on {i.page})"
                for i in items
            ]
        lines.append(f"Declared but not seen on these pages: {len(self.not_seen)}")
        lines += [f"  {d.kind:<15} {d.name}{'*' if d.match == 'prefix' else ''}" for d in self.not_seen]
        lines.append(
            "DRIFT: undeclared or mis-declared items found"
            if self.drift
            else "No drift: everything seen is declared as it is set"
        )
        return "\n".join(lines)


def browser_cookie(cookie: dict[str, Any]) -> SetCookie:
    """A cookie as Playwright reports it, in Set-Cookie terms, so the guard's rules apply as they are."""
    attributes: dict[str, str] = {"path": cookie.get("path", "/")}
    if cookie.get("httpOnly"):
        attributes["httponly"] = ""
    if cookie.get("secure"):
        attributes["secure"] = ""
    if cookie.get("sameSite"):
        attributes["samesite"] = cookie["sameSite"]
    if cookie.get("domain", "").startswith("."):  # a Domain attribute was set (host-only cookies have no dot)
        attributes["domain"] = cookie["domain"]
    if cookie.get("expires", -1) > 0:
        attributes["expires"] = format_datetime(datetime.fromtimestamp(cookie["expires"], UTC), usegmt=True)
    return SetCookie(cookie["name"], attributes)


def compare(
    observed: list[tuple[str, str, str, SetCookie | None]], declarations: list[Declaration], *, require_secure: bool
) -> tuple[list[Item], list[Item], list[Declaration]]:
    """`observed`: (kind, name, page, cookie or None for storage keys), first sighting of each."""
    compiled = {kind: CompiledAllowlist(declarations, kind) for kind in ("cookie", "local_storage", "session_storage")}
    undeclared, mismatched, used = [], [], set()
    now = time.time()
    for kind, name, page, cookie in observed:
        declaration = compiled[kind].find(name)
        if declaration is None:
            undeclared.append(Item(kind, name, page))
            continue
        used.add((declaration.kind, declaration.name))
        found = mismatches(declaration, cookie, now=now, require_secure=require_secure) if cookie else []
        if found:
            mismatched.append(Item(kind, name, page, [detail for _, detail in found]))
    not_seen = [d for d in declarations if (d.kind, d.name) not in used]
    return undeclared, mismatched, not_seen


def collect(
    urls: list[str], *, chromium: str = CHROMIUM, timeout_ms: int = 20_000
) -> list[tuple[str, str, str, SetCookie | None]]:
    """Visit `urls` in one browser context (as one visitor would) and return the first sighting of each item."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserMissing(f"Playwright is not installed; {INSTALL_HELP}") from exc
    if not Path(chromium).is_file():
        raise BrowserMissing(f"no Chromium at {chromium}; {INSTALL_HELP}")
    seen: dict[tuple[str, str], tuple[str, str, str, SetCookie | None]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            page = context.new_page()
            for url in urls:
                page.goto(url, wait_until="load", timeout=timeout_ms)
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                keys = page.evaluate(STORAGE_KEYS)
                for kind in ("local_storage", "session_storage"):
                    for name in keys[kind]:
                        seen.setdefault((kind, name), (kind, name, url, None))
                for cookie in context.cookies():
                    seen.setdefault(("cookie", cookie["name"]), ("cookie", cookie["name"], url, browser_cookie(cookie)))
        finally:
            browser.close()
    return list(seen.values())


def run_audit(
    urls: list[str],
    declarations: list[Declaration],
    *,
    policy_version: int | None,
    require_secure: bool,
    chromium: str = CHROMIUM,
) -> AuditReport:
    undeclared, mismatched, not_seen = compare(
        collect(urls, chromium=chromium), declarations, require_secure=require_secure
    )
    return AuditReport(
        pages=urls, policy_version=policy_version, undeclared=undeclared, mismatched=mismatched, not_seen=not_seen
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

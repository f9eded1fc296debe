"""An audit run as text (the terminal), JSON, and one self-contained HTML file."""

from __future__ import annotations

import base64
from pathlib import Path

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape

from governance.enforcement.audit.model import AuditRun

TEMPLATES = Path(__file__).parent
RULES = {
    "undeclared": "Undeclared",
    "mismatch": "Attribute mismatches",
    "third_party": "Declared first-party items stored by third parties",
    "vendor": "Requests to vendors the policy rules out",
}


def as_json(run: AuditRun, *, screenshots: bool = False) -> bytes:
    """The run as JSON, with `exit_code`; screenshots (base64) only when asked: they are large."""
    document = msgspec.to_builtins(run)
    document["exit_code"] = run.exit_code
    if not screenshots:
        for page in document["pages"]:
            page.pop("screenshot", None)
    return msgspec.json.format(msgspec.json.encode(document), indent=2)


def verdict(run: AuditRun) -> str:
    if not run.complete:
        return "INCOMPLETE: some pages could not be audited" + (" (and drift was found)" if run.drift else "")
    if run.drift:
        return "DRIFT: the site does not match the policy"
    return "No drift: everything seen is declared as it is set, and every checkable claim held"


def as_text(run: AuditRun) -> str:
    lines = [f"Audit of {len(run.pages)} page(s) against cookie policy v{run.policy_version} ({run.policy_source})"]
    for page in run.pages:
        state = page.status if not page.error else f"{page.status}: {page.error}"
        lines.append(f"  {page.url}  [{state}]{'' if page.requested else '  (crawled)'}")
    for rule, title in RULES.items():
        found = [f for f in run.findings if f.rule == rule]
        lines.append(f"{title}: {len(found)}")
        for f in found:
            detail = "; ".join(f.reasons)
            lines.append(f"  {f.kind:<15} {f.name}  on {f.host}{'  (' + detail + ')' if detail else ''}")
            lines += [f"      {url}" for url in f.urls]
    lines.append(f"Declared but not seen on these pages: {len(run.not_seen)}")
    lines += [f"  {d.kind:<15} {d.name}{'*' if d.match == 'prefix' else ''}" for d in run.not_seen]
    third = [h for h in run.hosts if h.party == "third"]
    lines.append(f"Third-party hosts contacted: {len(third)}")
    lines += [f"  {h.host}  {h.requests} request(s){'  [' + h.vendor + ']' if h.vendor else ''}" for h in third]
    lines.append(f"Claims: {len(run.claims)}")
    for claim in run.claims:
        lines.append(f"  {claim.status:<12} {claim.id}  ({claim.check})")
        lines += [f"      {e}" for e in claim.evidence if claim.status != "held"]
    lines += [f"warning: {w}" for w in run.warnings]
    lines.append(verdict(run))
    return "\n".join(lines)


def _data_uri(jpeg: bytes | None) -> str | None:
    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def as_html(run: AuditRun) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), trim_blocks=True
    )
    environment.filters["data_uri"] = _data_uri
    return environment.get_template("report.html.j2").render(run=run, rules=RULES, verdict=verdict(run))

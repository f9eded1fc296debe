"""Judging: every sighting, request and claim against the policy. Pure functions, no browser.

Cookie attributes are judged by the Set-Cookie guard's own rules (`cookies.mismatches`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from governance.enforcement.allowlist import CompiledAllowlist
from governance.enforcement.audit.claims import normalized
from governance.enforcement.audit.collect import Observation, RequestSeen, same_site
from governance.enforcement.audit.model import (
    AuditedPolicy,
    AuditOptions,
    AuditRun,
    Claim,
    ClaimResult,
    Finding,
    FindingRule,
    HostSummary,
    NotSeen,
    Party,
    Sighting,
)
from governance.enforcement.audit.vendors import VendorTable
from governance.enforcement.cookies import SetCookie, mismatches
from policy_docs.schemas import Declaration

DECLARABLE = ("cookie", "local_storage", "session_storage")
QUIET_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # OPTIONS: the browser's own CORS preflight
MAX_EXAMPLES = 5


def first_party_sites(observation: Observation, options: AuditOptions) -> list[str]:
    """The audited sites (as Chromium computed them for the given pages) and the configured hosts."""
    sites = {page.site for page in observation.pages if page.requested and page.site}
    return sorted(sites | {host.lower() for host in options.first_party_hosts})


def party(host: str, sites: list[str]) -> Party:
    return "first" if any(same_site(host, site) for site in sites) else "third"


def as_set_cookie(sighting: Sighting) -> SetCookie:
    """A stored cookie in Set-Cookie terms, so the guard's rules apply as they are (lifetime from t=0)."""
    attributes = {"path": sighting.path or "/"}
    if sighting.http_only:
        attributes["httponly"] = ""
    if sighting.secure:
        attributes["secure"] = ""
    if sighting.same_site:
        attributes["samesite"] = sighting.same_site
    if sighting.origin.startswith("."):  # a Domain attribute was set (host-only cookies have no dot)
        attributes["domain"] = sighting.origin
    if sighting.lifetime_s is not None:
        attributes["expires"] = format_datetime(datetime.fromtimestamp(sighting.lifetime_s, UTC), usegmt=True)
    return SetCookie(sighting.name, attributes)


def _is_first_party_declaration(declaration: Declaration) -> bool:
    return declaration.provider.lower().startswith("first party")


def _finding(s: Sighting, rule: FindingRule, reasons: list[str]) -> Finding:
    return Finding(rule=rule, kind=s.kind, name=s.name, host=s.host, pages=s.pages, reasons=reasons)


def judge_sightings(
    sightings: list[Sighting], declarations: list[Declaration], sites: list[str], *, require_secure: bool
) -> tuple[list[Finding], list[NotSeen]]:
    """One finding per offending sighting: the same name stored twice differently is two findings."""
    compiled = {kind: CompiledAllowlist(declarations, kind) for kind in DECLARABLE}  # type: ignore[arg-type]
    findings, used = [], set()
    for s in sightings:
        if s.kind not in compiled:
            findings.append(_finding(s, "undeclared", [f"the policy declares no {s.kind.replace('_', ' ')} at all"]))
            continue
        declaration = compiled[s.kind].find(s.name)
        if declaration is None:
            findings.append(_finding(s, "undeclared", ["not in the policy's declarations"]))
            continue
        used.add(declaration.key)
        if s.kind == "cookie":
            found = mismatches(declaration, as_set_cookie(s), now=0.0, require_secure=require_secure)
            if found:
                findings.append(_finding(s, "mismatch", [detail for _, detail in found]))
        if _is_first_party_declaration(declaration) and party(s.host, sites) == "third":
            findings.append(_finding(s, "third_party", [f"declared as first party, but stored for {s.host}"]))
    not_seen = [NotSeen(kind=d.kind, name=d.name, match=d.match) for d in declarations if d.key not in used]
    return findings, not_seen


def summarize_hosts(requests: list[RequestSeen], sites: list[str], vendors: VendorTable) -> list[HostSummary]:
    by_host: dict[str, list[RequestSeen]] = defaultdict(list)
    for request in requests:
        by_host[_host(request.url)].append(request)
    summaries = []
    for host, seen in sorted(by_host.items()):
        vendor = next((v.id for r in seen if (v := vendors.vendor_for(r.url))), None)
        summaries.append(
            HostSummary(
                host=host,
                party=party(host, sites),
                requests=len(seen),
                methods=sorted({r.method for r in seen}),
                types=sorted({r.resource_type for r in seen}),
                pages=list(dict.fromkeys(r.page for r in seen)),
                vendor=vendor,
            )
        )
    return summaries


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def vendor_requests(requests: list[RequestSeen], vendors: VendorTable) -> dict[str, list[RequestSeen]]:
    """vendor id -> the requests that went to it."""
    found: dict[str, list[RequestSeen]] = defaultdict(list)
    for request in requests:
        vendor = vendors.vendor_for(request.url)
        if vendor is not None:
            found[vendor.id].append(request)
    return found


def judge_vendors(
    requests: list[RequestSeen], vendors: VendorTable, not_used: list[str], sites: list[str]
) -> list[Finding]:
    """A request to a vendor the policy says it does not use is drift: one finding per vendor and host."""
    promised = vendors.promised_absent(not_used)
    findings = []
    names = {v.id: v.name for v in vendors.vendors}
    for vendor_id, seen in vendor_requests(requests, vendors).items():
        if vendor_id not in promised:
            continue
        by_host: dict[str, list[RequestSeen]] = defaultdict(list)
        for request in seen:
            if party(_host(request.url), sites) == "third":  # a site may proxy a vendor through itself
                by_host[_host(request.url)].append(request)
        for host, hits in sorted(by_host.items()):
            reason = f"the policy says: {promised[vendor_id]!r}"
            findings.append(
                Finding(
                    rule="vendor",
                    kind="request",
                    name=names[vendor_id],
                    host=host,
                    pages=list(dict.fromkeys(r.page for r in hits)),
                    reasons=[reason, f"{len(hits)} request(s)"],
                    urls=[f"{r.method} {r.url}" for r in hits[:MAX_EXAMPLES]],
                )
            )
    return findings


def beacons(requests: list[RequestSeen], sites: list[str]) -> list[RequestSeen]:
    """Requests that send data out (POST and the like, sendBeacon / ping) to a host outside `sites`."""
    return [
        r
        for r in requests
        if (r.method not in QUIET_METHODS or r.resource_type == "ping") and party(_host(r.url), sites) == "third"
    ]


def judge_claims(
    claims: list[Claim],
    observation: Observation,
    policy: AuditedPolicy,
    vendors: VendorTable,
    sites: list[str],
) -> list[ClaimResult]:
    audited = any(page.status == "ok" for page in observation.pages)
    results = []
    for claim in claims:
        status, evidence = _check(claim, observation, policy, vendors, sites)
        if status == "held" and not audited:
            status, evidence = "not_observed", ["no page could be audited"]
        results.append(
            ClaimResult(
                id=claim.id,
                section=claim.section,
                text=claim.text,
                check=claim.check,
                status=status,  # type: ignore[arg-type]
                evidence=evidence,
                in_policy=_in_policy(claim, policy),
            )
        )
    return results


def _in_policy(claim: Claim, policy: AuditedPolicy) -> bool | None:
    if policy.sections is None:
        return None
    return normalized(claim.text) in normalized(policy.sections.get(claim.section, ""))


def _check(
    claim: Claim, observation: Observation, policy: AuditedPolicy, vendors: VendorTable, sites: list[str]
) -> tuple[str, list[str]]:
    if claim.check == "manual":
        return "manual", ["not machine-checkable yet: confirm by review"]
    if claim.check == "audit:vendors":
        named = {v.id: v.name for v in vendors.named_in(claim.text)}
        hits = [
            f"{named[vendor_id]}: {r.method} {r.url} (on {r.page})"
            for vendor_id, seen in vendor_requests(observation.requests, vendors).items()
            if vendor_id in named
            for r in seen
            if party(_host(r.url), sites) == "third"
        ]
        return ("broken", hits[:MAX_EXAMPLES]) if hits else ("held", [f"no request to {', '.join(named.values())}"])
    if claim.check == "audit:beacons":
        sent = [f"{r.method} {r.url} ({r.resource_type}, on {r.page})" for r in beacons(observation.requests, sites)]
        return ("broken", sent[:MAX_EXAMPLES]) if sent else ("held", [f"data sent only to {', '.join(sites)}"])
    if claim.check == "audit:geolocation":
        used = [p.url for p in observation.pages if p.geolocation]
        if used:
            return "broken", [f"the Geolocation API was called on {url}" for url in used]
        unknown = [p.url for p in observation.pages if p.status == "ok" and p.geolocation is None]
        if unknown:
            return "not_observed", [f"geolocation use could not be observed on {url}" for url in unknown]
        return "held", ["no page called the Geolocation API"]
    if claim.check == "audit:third_party_cookies":
        third = [
            f"{s.name} stored for {s.host} (on {', '.join(s.pages)})"
            for s in observation.sightings
            if s.kind == "cookie" and party(s.host, sites) == "third"
        ]
        return ("broken", third[:MAX_EXAMPLES]) if third else ("held", ["no cookie stored for a third-party host"])
    return _check_http_only(claim, observation, policy)


def _check_http_only(claim: Claim, observation: Observation, policy: AuditedPolicy) -> tuple[str, list[str]]:
    compiled = CompiledAllowlist(policy.declarations, "cookie")
    broken, held, unseen = [], [], []
    for name in claim.cookies:
        declaration = compiled.find(name)
        if declaration is None or declaration.http_only is not True:
            broken.append(f"{name} is {'not declared' if declaration is None else 'not declared HttpOnly'}")
        seen = [s for s in observation.sightings if s.kind == "cookie" and s.name == name]
        broken += [
            f"{name} stored without HttpOnly for {s.host} (on {', '.join(s.pages)})" for s in seen if not s.http_only
        ]
        held += [f"{name} stored HttpOnly for {s.host}" for s in seen if s.http_only]
        if not seen:
            unseen.append(f"{name} was not set on the audited pages (sign in to observe it)")
    if broken:
        return "broken", broken
    return ("not_observed", unseen) if unseen else ("held", held)


def build_run(
    urls: list[str],
    observation: Observation,
    policy: AuditedPolicy,
    claims: list[Claim],
    options: AuditOptions,
    vendors: VendorTable,
    started_at: datetime,
) -> AuditRun:
    sites = first_party_sites(observation, options)
    findings, not_seen = judge_sightings(
        observation.sightings, policy.declarations, sites, require_secure=options.require_secure
    )
    findings += judge_vendors(observation.requests, vendors, policy.not_used, sites)
    claim_results = judge_claims(claims, observation, policy, vendors, sites)
    warnings = list(observation.warnings)
    warnings += [
        f"claim {c.id!r} is not in section {c.section!r} of this policy version"
        for c in claim_results
        if c.in_policy is False
    ]
    failed = [
        p for p in observation.pages if p.status in ("failed", "crashed") or (p.requested and p.status == "http_error")
    ]
    return AuditRun(
        started_at=started_at,
        finished_at=datetime.now(UTC),
        urls=urls,
        policy_version=policy.number,
        policy_source=policy.source,
        options=options,
        browser=observation.browser,
        pages=observation.pages,
        sightings=observation.sightings,
        hosts=summarize_hosts(observation.requests, sites, vendors),
        findings=findings,
        not_seen=not_seen,
        claims=claim_results,
        drift=bool(findings) or any(c.status == "broken" for c in claim_results),
        complete=not failed,
        warnings=warnings,
    )

"""The evidence bundle: one zip for an auditor or a regulator, proving what was in force at an instant.

    README.txt     what each file is and how to check it
    manifest.json  the instant, the period, the policy version, per-section facts, and the SHA-256 of every file
    SHA256SUMS     the same hashes (and the manifest's) for `sha256sum -c SHA256SUMS`
    policy/ inventory/ violations/ retention/ audit-log/   the sections (governance/evidence/sections.py)

Building one is audited (`evidence.export`, with the manifest's SHA-256: the audit log then vouches
for the bundle). No HTTP here.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from governance.core import audit
from governance.core.audit import AuditAction
from governance.core.clock import utcnow
from governance.core.errors import FieldError, Invalid, NotFound
from governance.core.params import Period
from governance.enforcement.allowlist import Deployment
from governance.evidence.sections import SECTIONS, BundleFile, Evidence
from policy_docs import service as policy_service

README = """MailSetu Governance: evidence bundle

Instant:  {at}
Period:   {since} to {until} (the version in force at the instant took effect at the start, unless asked otherwise)
Policy:   {document} version {number}, content hash {content_hash}

Check the files:    sha256sum -c SHA256SUMS
Check the policy:   sha256sum policy/content.json   (gives the content hash above)
Check the log:      audit-log/verification.json says whether this stretch of the hash chain holds;
                    each entry's hash is SHA-256 over the JSON object of its action, actor, details,
                    occurred_at (%Y-%m-%dT%H:%M:%S.%fZ), prev_hash and subject, keys sorted, no spaces.

manifest.json lists every file with its SHA-256 and size. Its own SHA-256 is recorded in the
service's audit log (action evidence.export), so the log vouches for this bundle.

Files:
{files}
"""


@dataclass(frozen=True)
class Bundle:
    archive: bytes
    manifest_sha256: str
    filename: str


async def build(
    session: AsyncSession,
    actor: str,
    at: datetime | None = None,
    since: datetime | None = None,
    deployment: Deployment | None = None,
) -> Bundle:
    """The bundle for the instant `at` (default: now); the period runs from `since` (default: when the
    version then in force took effect) to `at`. The policy is shown as `deployment` applies it."""
    generated_at = utcnow()
    at = at or generated_at
    if at > generated_at:
        problem = "evidence is of what was in force, not of what may be: give an instant that has passed"
        raise Invalid(problem, errors=[FieldError("at", problem)])
    published = await policy_service.snapshot_at(session, at)
    if published is None:
        raise NotFound(f"no version of the cookie policy was in force at {at.isoformat()}")
    snapshot = (deployment or Deployment()).snapshot(published)
    since = snapshot.effective_from if since is None else since
    if since >= at:
        problem = f"the period must start before {at.isoformat()}"
        raise Invalid(problem, errors=[FieldError("since", problem)])
    evidence = Evidence(session=session, at=at, period=Period(since, at), published=published, snapshot=snapshot)
    files, by_section = [], {}
    for name, section in SECTIONS:
        found = await section(evidence)
        by_section[name] = [f.path for f in found]
        files += found
    readme = _readme(evidence, files)
    manifest = _manifest(evidence, generated_at, [readme, *files], by_section)
    digest = hashlib.sha256(manifest.data).hexdigest()
    sums = _sha256sums([readme, manifest, *files])
    archive = _zip([readme, manifest, sums, *files], generated_at)
    await audit.record(
        session,
        actor=actor,
        action=AuditAction.EVIDENCE_EXPORT,
        subject=f"{snapshot.document} v{snapshot.number} at {at.isoformat()}",
        at=at.isoformat(),
        since=since.isoformat(),
        manifest_sha256=digest,
        files=len(files) + 3,
    )
    return Bundle(archive=archive, manifest_sha256=digest, filename=f"evidence-{at:%Y%m%dT%H%M%SZ}.zip")


def _manifest(
    evidence: Evidence, generated_at: datetime, files: list[BundleFile], by_section: dict[str, list[str]]
) -> BundleFile:
    manifest = {
        "bundle": "MailSetu Governance evidence",
        "generated_at": generated_at.isoformat(),
        "at": evidence.at.isoformat(),
        "period": {
            "since": evidence.period.since.isoformat() if evidence.period.since else None,
            "until": evidence.period.until.isoformat() if evidence.period.until else None,
        },
        "sections": {name: {"files": paths, **evidence.summary.get(name, {})} for name, paths in by_section.items()},
        "files": [{"path": f.path, "sha256": hashlib.sha256(f.data).hexdigest(), "bytes": len(f.data)} for f in files],
    }
    return BundleFile("manifest.json", msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


def _readme(evidence: Evidence, files: list[BundleFile]) -> BundleFile:
    snapshot = evidence.snapshot
    text = README.format(
        at=evidence.at.isoformat(),
        since=evidence.period.since.isoformat() if evidence.period.since else "",
        until=evidence.period.until.isoformat() if evidence.period.until else "",
        document=snapshot.document,
        number=snapshot.number,
        content_hash=snapshot.content_hash,
        files="\n".join(f"  {f.path}" for f in files),
    )
    return BundleFile("README.txt", text.encode())


def _sha256sums(files: list[BundleFile]) -> BundleFile:
    lines = "".join(f"{hashlib.sha256(f.data).hexdigest()}  {f.path}\n" for f in files)
    return BundleFile("SHA256SUMS", lines.encode())


def _zip(files: list[BundleFile], moment: datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.data)
    return buffer.getvalue()

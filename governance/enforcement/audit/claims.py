"""The policy's checkable claims (policy_docs/content/cookie-policy/claims.toml)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec

from governance.enforcement.audit.model import Claim
from policy_docs.schemas import PolicySnapshot
from policy_docs.seed import CONTENT

CLAIMS_FILE = CONTENT / "cookie-policy" / "claims.toml"


class ClaimsError(ValueError):
    """The claims file is unreadable or malformed; the message names the file and the problem."""


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        claims = msgspec.convert(document.get("claims", []), list[Claim])
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ClaimsError(f"{path}: {exc}") from exc
    for claim in claims:
        if claim.check == "declarations:http_only" and not claim.cookies:
            raise ClaimsError(f"{path}: claim {claim.id!r} checks declarations:http_only but names no cookies")
    duplicates = sorted({c.id for c in claims if [d.id for d in claims].count(c.id) > 1})
    if duplicates:
        raise ClaimsError(f"{path}: duplicate claim ids {duplicates}")
    return claims


def section_texts(snapshot: PolicySnapshot) -> dict[str, str]:
    """Everything each section shows: its prose, its data list, the purposes in its table."""
    texts = {}
    for section in snapshot.sections:
        parts = [section.body]
        if section.data_list == "not_used":
            parts += snapshot.not_used
        if section.table_category:
            parts += [d.purpose for d in snapshot.declarations if d.category == section.table_category]
        texts[section.id] = "\n".join(parts)
    return texts


def normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()

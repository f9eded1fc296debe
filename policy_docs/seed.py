"""Version 1 of the cookie policy, read from the reviewable data files under content/cookie-policy/."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

from policy_docs.schemas import ContactEntry, Declaration, PolicyContent, Section

CONTENT = Path(__file__).parent / "content"


@dataclass(frozen=True)
class SeedVersion:
    content: PolicyContent
    effective_from: datetime
    last_updated: date
    change_summary: str
    material: bool


def load_seed(document: str = "cookie-policy", root: Path = CONTENT) -> SeedVersion:
    folder = root / document
    policy = tomllib.loads((folder / "policy.toml").read_text(encoding="utf-8"))
    declarations = tomllib.loads((folder / "declarations.toml").read_text(encoding="utf-8"))["declarations"]

    def prose(name: str | None) -> str:
        return (folder / "sections" / name).read_text(encoding="utf-8").strip() if name else ""

    sections = [{**section, "body": prose(section.get("body"))} for section in policy["sections"]]
    content = PolicyContent(
        title=policy["title"],
        intro=prose(policy.get("intro")),
        sections=msgspec.convert(sections, list[Section]),
        declarations=msgspec.convert(declarations, list[Declaration]),
        not_used=list(policy.get("not_used", [])),
        contact=msgspec.convert(policy.get("contact", []), list[ContactEntry]),
    )
    effective_from: datetime = policy["effective_from"]
    return SeedVersion(
        content=content,
        effective_from=effective_from.astimezone(UTC),
        last_updated=policy["last_updated"],
        change_summary=policy.get("change_summary", ""),
        material=policy.get("material", False),
    )

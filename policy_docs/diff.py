"""What changed between two versions: declarations field by field, sections, and the data lists."""

from __future__ import annotations

from typing import Any

import msgspec

from policy_docs.schemas import DeclarationChange, FieldChange, PolicyContent, PolicyDiff, SectionChange


def _flat(struct: msgspec.Struct, prefix: str = "") -> dict[str, Any]:
    """`duration.seconds`-style keys, so a change deep inside shows up as one field."""
    flat: dict[str, Any] = {}
    for name, value in msgspec.structs.asdict(struct).items():
        if isinstance(value, msgspec.Struct):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def field_changes(old: msgspec.Struct, new: msgspec.Struct) -> list[FieldChange]:
    before, after = _flat(old), _flat(new)
    return [FieldChange(key, before.get(key), after.get(key)) for key in after if before.get(key) != after.get(key)]


def diff(old: PolicyContent, new: PolicyContent, from_number: int = 0, to_number: int = 0) -> PolicyDiff:
    old_decls = {d.key: d for d in old.declarations}
    new_decls = {d.key: d for d in new.declarations}
    changed = [
        DeclarationChange(kind=key[0], name=key[1], changes=changes)
        for key, declaration in new_decls.items()
        if key in old_decls and (changes := field_changes(old_decls[key], declaration))
    ]
    return PolicyDiff(
        from_number=from_number,
        to_number=to_number,
        declarations_added=[d for key, d in new_decls.items() if key not in old_decls],
        declarations_removed=[d for key, d in old_decls.items() if key not in new_decls],
        declarations_changed=changed,
        sections=_section_changes(old, new),
        other_changes=_other_changes(old, new),
    )


def _section_changes(old: PolicyContent, new: PolicyContent) -> list[SectionChange]:
    before = {s.id: s for s in old.sections}
    after = {s.id: s for s in new.sections}
    changes = [
        SectionChange(id=s.id, heading=s.heading, change="added") for sid, s in after.items() if sid not in before
    ]
    changes += [
        SectionChange(id=s.id, heading=s.heading, change="removed") for sid, s in before.items() if sid not in after
    ]
    for sid, section in after.items():
        if sid in before and (fields := [c.field for c in field_changes(before[sid], section)]):
            changes.append(SectionChange(id=sid, heading=section.heading, change="changed", fields=fields))
    return changes


def _other_changes(old: PolicyContent, new: PolicyContent) -> list[str]:
    labels = {
        "title": "the title",
        "intro": "the introduction",
        "not_used": "the 'what we do not use' list",
        "contact": "the contact details",
    }
    return [f"{label} changed" for field, label in labels.items() if getattr(old, field) != getattr(new, field)]

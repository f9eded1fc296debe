"""What changed between two contents: declarations field by field, sections with a word-level
redline of their heading and body, and the data lists. Used by the published diff, the version page,
a draft's diff against its base, and the audit log's summary of a draft edit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

import msgspec

from policy_docs.schemas import (
    DeclarationChange,
    FieldChange,
    PolicyContent,
    PolicyDiff,
    Redline,
    Section,
    SectionChange,
    Segment,
)

PROSE_FIELDS = ("heading", "body")
# Words, runs of whitespace, and runs of punctuation: "cookies." -> "cookies", "." so that a changed
# full stop is not a changed word. Joining the tokens gives the text back exactly.
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]+")
# SequenceMatcher's work grows with the product of the two sequences' lengths (and worse on repetitive
# text): one diff may compare at most this many token pairs (about a second), after which a changed
# block is shown as deleted and inserted whole. Real edits stay far below it.
DIFF_BUDGET = 2_000_000


class Budget:
    """What is left of DIFF_BUDGET for one diff."""

    def __init__(self, pairs: int = DIFF_BUDGET) -> None:
        self.left = pairs

    def spend(self, pairs: int) -> bool:
        if pairs > self.left:
            return False
        self.left -= pairs
        return True


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


def redline(old: str, new: str, budget: Budget | None = None) -> list[Segment]:
    """`old` turned into `new`, word by word: runs of equal, deleted and inserted text.

    Lines first (paragraphs that did not change stay whole), then the words of each changed block."""
    budget = budget or Budget()
    segments: list[Segment] = []
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in _opcodes(a, b, budget):
        if tag == "equal":
            _append(segments, "equal", "".join(a[i1:i2]))
        else:
            _words(_TOKENS.findall("".join(a[i1:i2])), _TOKENS.findall("".join(b[j1:j2])), segments, budget)
    return segments


def _opcodes(a: list[str], b: list[str], budget: Budget) -> Sequence[tuple[str, int, int, int, int]]:
    if a == b:
        return [("equal", 0, len(a), 0, len(b))]
    if not budget.spend(len(a) * len(b)):
        return [("replace", 0, len(a), 0, len(b))]
    return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _words(a: list[str], b: list[str], segments: list[Segment], budget: Budget) -> None:
    # The common start and end cost nothing to find, and leave only the changed middle to diff.
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    _append(segments, "equal", "".join(a[:start]))
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    for tag, i1, i2, j1, j2 in _opcodes(middle_a, middle_b, budget):
        if tag == "equal":
            _append(segments, "equal", "".join(middle_a[i1:i2]))
        else:
            _append(segments, "delete", "".join(middle_a[i1:i2]))
            _append(segments, "insert", "".join(middle_b[j1:j2]))
    _append(segments, "equal", "".join(a[len(a) - end :]))


def _append(segments: list[Segment], op: Any, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].op == op:
        segments[-1] = Segment(op, segments[-1].text + text)
    else:
        segments.append(Segment(op, text))


def changes(old: PolicyContent, new: PolicyContent, *, redlines: bool = True) -> dict[str, Any]:
    """The parts of `Changes`, as keyword arguments for PolicyDiff or DraftDiff."""
    old_decls = {d.key: d for d in old.declarations}
    new_decls = {d.key: d for d in new.declarations}
    changed = [
        DeclarationChange(kind=key[0], name=key[1], changes=found)
        for key, declaration in new_decls.items()
        if key in old_decls and (found := field_changes(old_decls[key], declaration))
    ]
    return {
        "declarations_added": [d for key, d in new_decls.items() if key not in old_decls],
        "declarations_removed": [d for key, d in old_decls.items() if key not in new_decls],
        "declarations_changed": changed,
        "sections": _section_changes(old, new, Budget() if redlines else None),
        "other_changes": _other_changes(old, new),
    }


def diff(old: PolicyContent, new: PolicyContent, from_number: int = 0, to_number: int = 0) -> PolicyDiff:
    return PolicyDiff(from_number=from_number, to_number=to_number, **changes(old, new))


def _section_changes(old: PolicyContent, new: PolicyContent, budget: Budget | None) -> list[SectionChange]:
    """Sections added, removed and changed; with a budget, changed prose comes with its redline."""
    before = {s.id: s for s in old.sections}
    after = {s.id: s for s in new.sections}
    found = [SectionChange(id=s.id, heading=s.heading, change="added") for sid, s in after.items() if sid not in before]
    found += [
        SectionChange(id=s.id, heading=s.heading, change="removed") for sid, s in before.items() if sid not in after
    ]
    for sid, section in after.items():
        if sid in before and (change := _section_change(before[sid], section, budget)):
            found.append(change)
    return found


def _section_change(old: Section, new: Section, budget: Budget | None) -> SectionChange | None:
    fields = field_changes(old, new)
    if not fields:
        return None
    prose = [c for c in fields if c.field in PROSE_FIELDS] if budget else []
    return SectionChange(
        id=new.id,
        heading=new.heading,
        change="changed",
        fields=[c.field for c in fields],
        redlines=[Redline(c.field, redline(c.old, c.new, budget)) for c in prose],  # type: ignore[arg-type]
        changes=[c for c in fields if c.field not in PROSE_FIELDS],
    )


def _other_changes(old: PolicyContent, new: PolicyContent) -> list[str]:
    labels = {
        "title": "the title",
        "intro": "the introduction",
        "not_used": "the 'what we do not use' list",
        "contact": "the contact details",
    }
    return [f"{label} changed" for field, label in labels.items() if getattr(old, field) != getattr(new, field)]


def summary(old: PolicyContent, new: PolicyContent) -> dict[str, Any]:
    """What an edit changed, by name only (the audit log keeps this, not the content)."""
    found = changes(old, new, redlines=False)
    kept = {s.id for s in old.sections} & {s.id for s in new.sections}
    summary: dict[str, Any] = {
        "declarations_added": [f"{d.kind}:{d.name}" for d in found["declarations_added"]],
        "declarations_removed": [f"{d.kind}:{d.name}" for d in found["declarations_removed"]],
        "declarations_changed": {
            f"{c.kind}:{c.name}": [f.field for f in c.changes] for c in found["declarations_changed"]
        },
        "sections_added": [s.id for s in found["sections"] if s.change == "added"],
        "sections_removed": [s.id for s in found["sections"] if s.change == "removed"],
        "sections_changed": {s.id: s.fields for s in found["sections"] if s.change == "changed"},
        "sections_reordered": [s.id for s in old.sections if s.id in kept]
        != [s.id for s in new.sections if s.id in kept],
        "other": found["other_changes"],
    }
    return {key: value for key, value in summary.items() if value}

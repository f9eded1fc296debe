"""Applying a draft edit (`DraftPatch`) to a draft's content: pure, no database.

Lists are edited item by item by their key, sections by `id` and declarations by (kind, name).
An edit that cannot be applied as asked (removing what is not there, naming an item twice, an order
that is not every section once) is refused whole, every problem with the field of the patch it
concerns; nothing is dropped or guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from governance.core.errors import FieldError, Invalid
from policy_docs.schemas import DraftPatch, PolicyContent, Section

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def apply_patch(content: PolicyContent, patch: DraftPatch) -> PolicyContent:
    problems: list[FieldError] = []
    sections = _edit(
        content.sections,
        patch.replace_sections,
        patch.upsert_sections,
        patch.remove_sections,
        key=lambda s: s.id,
        name="sections",
        describe=lambda key: f"section {key!r}",
        problems=problems,
    )
    declarations = _edit(
        content.declarations,
        patch.replace_declarations,
        patch.upsert_declarations,
        [(str(ref.kind), ref.name) for ref in patch.remove_declarations],
        key=lambda d: d.key,
        name="declarations",
        describe=lambda key: f"{key[1]} ({key[0]})",
        problems=problems,
    )
    if patch.section_order is not None:
        sections = _reorder(sections, patch.section_order, problems)
    if problems:
        raise Invalid(f"the edit cannot be applied: {len(problems)} problem(s)", errors=problems)
    return PolicyContent(
        title=_kept(patch.title, content.title),
        intro=_kept(patch.intro, content.intro),
        sections=sections,
        declarations=declarations,
        not_used=_kept(patch.not_used, content.not_used),
        contact=_kept(patch.contact, content.contact),
    )


def _kept(new: T | None, old: T) -> T:
    return old if new is None else new


def _edit(
    current: Sequence[T],
    replacement: Sequence[T] | None,
    upserts: Sequence[T],
    removals: Sequence[K],
    *,
    key: Callable[[T], K],
    name: str,
    describe: Callable[[K], str],
    problems: list[FieldError],
) -> list[T]:
    """`replace_<name>`, then `upsert_<name>` (replacing in place, or appending), then `remove_<name>`."""
    items = list(current if replacement is None else replacement)
    upserted: dict[K, int] = {}
    for i, item in enumerate(upserts):
        item_key = key(item)
        if item_key in upserted:
            field = "id" if name == "sections" else "name"
            problems.append(
                FieldError(
                    f"upsert_{name}[{i}].{field}",
                    f"{describe(item_key)} is also in upsert_{name}[{upserted[item_key]}]",
                )
            )
            continue
        upserted[item_key] = i
        at = next((j for j, old in enumerate(items) if key(old) == item_key), None)
        if at is None:
            items.append(item)
        else:
            items[at] = item
    present = {key(item) for item in items}
    for i, removed in enumerate(removals):
        if removed in upserted:
            problems.append(
                FieldError(f"remove_{name}[{i}]", f"{describe(removed)} is also in upsert_{name}[{upserted[removed]}]")
            )
        elif removed not in present:
            problems.append(FieldError(f"remove_{name}[{i}]", f"the draft has no {describe(removed)}"))
    gone = set(removals)
    return [item for item in items if key(item) not in gone]


def _reorder(sections: list[Section], order: list[str], problems: list[FieldError]) -> list[Section]:
    by_id = {s.id: s for s in sections}
    seen: set[str] = set()
    for i, section_id in enumerate(order):
        if section_id not in by_id:
            problems.append(FieldError(f"section_order[{i}]", f"the draft has no section {section_id!r}"))
        elif section_id in seen:
            problems.append(FieldError(f"section_order[{i}]", f"section {section_id!r} is listed twice"))
        seen.add(section_id)
    missing = [s.id for s in sections if s.id not in seen]
    if missing:
        problems.append(FieldError("section_order", f"list every section once; missing: {', '.join(missing)}"))
    return [by_id[section_id] for section_id in dict.fromkeys(order) if section_id in by_id]

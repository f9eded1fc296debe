"""A draft edit changes what it names, by key, and refuses what it cannot apply as asked."""

import msgspec
import pytest

from governance.core.errors import Invalid
from policy_docs.patch import apply_patch
from policy_docs.schemas import DeclarationRef, DraftPatch, Section
from policy_docs.seed import load_seed

SEED = load_seed().content


def ids(content) -> list[str]:
    return [s.id for s in content.sections]


def edited_section(section_id: str, body: str) -> Section:
    section = next(s for s in SEED.sections if s.id == section_id)
    return msgspec.structs.replace(section, body=body)


def test_one_upserted_section_changes_that_section_and_keeps_every_other():
    edited = apply_patch(SEED, DraftPatch(upsert_sections=[edited_section("changes", "We will email you.")]))

    assert ids(edited) == ids(SEED) and len(edited.sections) == 10
    assert next(s for s in edited.sections if s.id == "changes").body == "We will email you."
    assert [s for s in edited.sections if s.id != "changes"] == [s for s in SEED.sections if s.id != "changes"]
    assert edited.declarations == SEED.declarations


def test_a_new_section_goes_at_the_end_and_section_order_moves_it():
    new = Section(id="children", heading="Children", body="We do not knowingly track children.")

    appended = apply_patch(SEED, DraftPatch(upsert_sections=[new]))
    order = [*ids(SEED)[:-1], "children", "contact"]
    moved = apply_patch(SEED, DraftPatch(upsert_sections=[new], section_order=order))

    assert ids(appended) == [*ids(SEED), "children"]
    assert ids(moved) == order


def test_removing_sections_and_declarations_by_key():
    edited = apply_patch(
        SEED,
        DraftPatch(
            remove_sections=["what-we-do-not-use"],
            remove_declarations=[DeclarationRef(kind="cookie", name="__next_locale")],
        ),
    )

    assert "what-we-do-not-use" not in ids(edited) and len(edited.sections) == 9
    assert "__next_locale" not in [d.name for d in edited.declarations]
    assert len(edited.declarations) == len(SEED.declarations) - 1


def test_replacing_a_whole_list_is_explicit():
    only = [Section(id="only", heading="Only")]

    assert ids(apply_patch(SEED, DraftPatch(replace_sections=only))) == ["only"]
    assert apply_patch(SEED, DraftPatch(replace_declarations=[])).declarations == []
    assert apply_patch(SEED, DraftPatch(title="Cookies")).sections == SEED.sections


@pytest.mark.parametrize(
    ("patch", "fields"),
    [
        (DraftPatch(remove_sections=["contact", "nope"]), ["remove_sections[1]"]),
        (DraftPatch(remove_declarations=[DeclarationRef(kind="cookie", name="nope")]), ["remove_declarations[0]"]),
        (
            DraftPatch(upsert_sections=[edited_section("contact", "a"), edited_section("contact", "b")]),
            ["upsert_sections[1].id"],
        ),
        (
            DraftPatch(upsert_sections=[edited_section("contact", "a")], remove_sections=["contact"]),
            ["remove_sections[0]"],
        ),
        (DraftPatch(upsert_declarations=[SEED.declarations[0]] * 2), ["upsert_declarations[1].name"]),
        (DraftPatch(section_order=ids(SEED)[:-1]), ["section_order"]),
        (DraftPatch(section_order=[*ids(SEED), "contact"]), ["section_order[10]"]),
        (DraftPatch(section_order=["nope", *ids(SEED)]), ["section_order[0]"]),
    ],
)
def test_an_edit_that_cannot_apply_is_refused_whole_naming_the_patch_field(patch, fields):
    with pytest.raises(Invalid) as refused:
        apply_patch(SEED, patch)

    assert [e.field for e in refused.value.errors] == fields


def test_every_problem_of_an_edit_is_reported_at_once():
    patch = DraftPatch(remove_sections=["nope"], remove_declarations=[DeclarationRef(kind="cookie", name="nope")])

    with pytest.raises(Invalid) as refused:
        apply_patch(SEED, patch)

    assert [e.field for e in refused.value.errors] == ["remove_sections[0]", "remove_declarations[0]"]

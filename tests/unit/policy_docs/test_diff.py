"""What changed between two versions: declarations field by field, sections word by word."""

import itertools

import msgspec
import pytest

from policy_docs.diff import diff, redline, summary
from policy_docs.schemas import Duration, Section
from policy_docs.seed import load_seed

SEED = load_seed().content


def old_and_new(segments) -> tuple[str, str]:
    old = "".join(s.text for s in segments if s.op != "insert")
    new = "".join(s.text for s in segments if s.op != "delete")
    return old, new


def test_identical_versions_have_an_empty_diff():
    assert diff(SEED, SEED, 1, 2).is_empty


def test_a_changed_declaration_lists_each_changed_field():
    access = SEED.declarations[0]
    shorter = msgspec.structs.replace(
        access, duration=Duration(kind="seconds", seconds=3600, text="1 hour"), same_site="strict"
    )
    new = msgspec.structs.replace(SEED, declarations=[shorter, *SEED.declarations[1:]])

    changed = diff(SEED, new).declarations_changed

    assert [(c.name, [(f.field, f.old, f.new) for f in c.changes]) for c in changed] == [
        (
            "ms_access",
            [
                ("duration.text", "30 days / until sign-out", "1 hour"),
                ("duration.seconds", 2592000, 3600),
                ("same_site", "lax", "strict"),
            ],
        )
    ]


def test_added_and_removed_declarations_and_sections():
    new = msgspec.structs.replace(SEED, declarations=SEED.declarations[1:], sections=SEED.sections[:-1], not_used=[])

    result = diff(SEED, new)

    assert [d.name for d in result.declarations_removed] == ["ms_access"]
    assert [(s.id, s.change) for s in result.sections] == [("contact", "removed")]
    assert result.other_changes == ["the 'what we do not use' list changed"]


def test_a_changed_section_carries_a_word_level_redline_of_its_heading_and_body():
    first = SEED.sections[0]
    changed = msgspec.structs.replace(
        first, heading=first.heading.replace("Cookies", "Cookies and Storage"), body=first.body + " We never sell it."
    )
    new = msgspec.structs.replace(SEED, sections=[changed, *SEED.sections[1:]])

    [section] = diff(SEED, new).sections

    assert (section.id, section.change, section.fields) == ("what-are-cookies", "changed", ["heading", "body"])
    heading, body = section.redlines
    assert heading.field == "heading" and [(s.op, s.text) for s in heading.segments] == [
        ("equal", "1. What Are Cookies"),
        ("insert", " and Storage"),
        ("equal", "?"),
    ]
    assert old_and_new(body.segments) == (first.body, changed.body)
    assert next(s for s in body.segments if s.op != "equal").text == " We never sell it."


def test_other_section_fields_are_listed_with_old_and_new_values():
    first = SEED.sections[0]
    new = msgspec.structs.replace(SEED, sections=[msgspec.structs.replace(first, level=3), *SEED.sections[1:]])

    [section] = diff(SEED, new).sections

    assert section.redlines == [] and [(c.field, c.old, c.new) for c in section.changes] == [("level", 2, 3)]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("We use cookies.", "We use cookies, pixels and storage."),
        ("", "Everything is new."),
        ("Everything goes.", ""),
        ("a  b\n\nc", "a b\nc d"),
        ("Ünïcode wörds — dashes…", "Ünïcode words — dashes!"),
        ("same", "same"),
    ],
)
def test_a_redline_rebuilds_both_texts_exactly(old, new):
    segments = redline(old, new)

    assert old_and_new(segments) == (old, new)
    assert all(s.text for s in segments)
    assert all(a.op != b.op for a, b in itertools.pairwise(segments))  # runs are merged


def test_a_changed_full_stop_is_not_a_changed_word():
    assert [(s.op, s.text) for s in redline("We use cookies.", "We use cookies!")] == [
        ("equal", "We use cookies"),
        ("delete", "."),
        ("insert", "!"),
    ]


def test_long_bodies_still_diff_word_by_word():
    words = " ".join(f"word{i}" for i in range(5000))
    changed = words.replace("word2500", "changed")

    segments = redline(words, changed)

    assert [(s.op, s.text) for s in segments if s.op != "equal"] == [("delete", "word2500"), ("insert", "changed")]


def test_the_edit_summary_names_what_changed_without_the_content():
    section = Section(id="children", heading="Children", body="Secret draft wording")
    access = msgspec.structs.replace(SEED.declarations[0], purpose="Changed purpose.")
    new = msgspec.structs.replace(
        SEED,
        title="Cookies",
        sections=[*SEED.sections[:1], section, *SEED.sections[1:]],
        declarations=[access, *SEED.declarations[2:]],
    )

    found = summary(SEED, new)

    assert found == {
        "declarations_removed": ["cookie:ms_csrf"],
        "declarations_changed": {"cookie:ms_access": ["purpose"]},
        "sections_added": ["children"],
        "other": ["the title changed"],
    }
    assert "Secret" not in str(found) and "Changed purpose" not in str(found)


def test_repetitive_text_past_the_budget_is_shown_whole_not_diffed_for_minutes():
    old = " ".join(f"w{i % 7}" for i in range(20_000))
    new = " ".join(f"w{(i * 3) % 7}" for i in range(20_000))

    segments = redline(old, new)

    assert old_and_new(segments) == (old, new)
    assert len(segments) <= 4  # the common start, then the rest deleted and inserted whole


def test_one_word_changed_in_a_very_long_paragraph_is_still_one_word():
    old = " ".join(f"w{i % 7}" for i in range(20_000))
    new = old.replace("w3 w4 w5", "w3 changed w5", 1)

    segments = redline(old, new)

    assert [(s.op, s.text) for s in segments if s.op != "equal"] == [("delete", "w4"), ("insert", "changed")]

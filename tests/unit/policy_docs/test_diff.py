"""What changed between two versions, field by field."""

import msgspec

from policy_docs.diff import diff
from policy_docs.schemas import Duration
from policy_docs.seed import load_seed

SEED = load_seed().content


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

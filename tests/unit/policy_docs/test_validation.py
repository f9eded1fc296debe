"""The rules a version must pass before it can be published: every problem names its exact field."""

import msgspec
import pytest

from governance.core.errors import FieldError
from policy_docs import validation
from policy_docs.schemas import ContactEntry, Declaration, Duration, PolicyContent, Section
from policy_docs.seed import load_seed

YEAR = Duration(kind="seconds", seconds=31536000, text="1 year")


def cookie(name: str, **fields) -> Declaration:
    values = {
        "kind": "cookie",
        "name": name,
        "category": "strictly necessary",
        "duration": YEAR,
        "purpose": "p",
        "http_only": False,
        "path": "/",
    }
    return Declaration(**{**values, **fields})


def content(*declarations: Declaration, **fields) -> PolicyContent:
    section = Section(id="necessary", heading="Necessary", table_category="strictly necessary")
    return PolicyContent(
        **{"title": "Cookie Policy", "sections": [section], "declarations": list(declarations), **fields}
    )


def fields_of(found: list[FieldError]) -> list[str | None]:
    return [problem.field for problem in found]


def test_the_seed_is_valid():
    assert validation.problems(load_seed().content) == []


def test_a_duplicate_is_reported_on_the_second_declaration_pointing_at_the_first():
    found = validation.problems(content(cookie("a"), cookie("b"), cookie("a")))

    assert found == [FieldError("declarations[2].name", "a (cookie) is already declared at declarations[0]")]


def test_a_prefix_may_not_swallow_another_declaration():
    found = validation.problems(content(cookie("ms_theme"), cookie("ms_", match="prefix")))

    assert found == [
        FieldError(
            "declarations[1].name",
            "the prefix 'ms_' (cookie) swallows the declaration 'ms_theme' (declarations[0])",
        )
    ]


def test_a_prefix_of_another_kind_is_fine():
    storage = cookie("ms_theme", kind="local_storage", http_only=None, path=None)
    assert validation.problems(content(cookie("ms_", match="prefix"), storage)) == []


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        (
            {"http_only": True, "purpose": "Token readable by JavaScript"},
            "purpose",
            "an HttpOnly cookie cannot be described as readable by JavaScript",
        ),
        (
            {"http_only": True, "type_label": "Cookie (not HttpOnly)"},
            "type_label",
            "an HttpOnly cookie cannot be described as readable by JavaScript",
        ),
        (
            {"http_only": False, "type_label": "Cookie (HttpOnly)"},
            "type_label",
            "the type says HttpOnly but http_only is false",
        ),
        ({"http_only": None}, "http_only", "say whether the cookie is HttpOnly"),
        ({"same_site": "none"}, "secure", "SameSite=None requires Secure"),
        ({"path": "app"}, "path", "the path must start with '/'"),
        (
            {"duration": Duration(kind="seconds", text="soon")},
            "duration.seconds",
            "a duration in seconds needs a positive number of seconds",
        ),
        (
            {"duration": Duration(kind="seconds", text="now", seconds=0)},
            "duration.seconds",
            "a duration in seconds needs a positive number of seconds",
        ),
        (
            {"duration": Duration(kind="session", text="session", seconds=5)},
            "duration.seconds",
            "a session duration has no number of seconds",
        ),
        ({"duration": Duration(kind="persistent", text=" ")}, "duration.text", "the duration has no text for the page"),
        ({"purpose": " "}, "purpose", "no purpose"),
        ({"provider": ""}, "provider", "no provider"),
    ],
)
def test_each_inconsistency_names_the_field_to_change(fields, field, problem):
    found = validation.problems(content(cookie("ok"), cookie("c", **fields)))

    assert found == [FieldError(f"declarations[1].{field}", f"c: {problem}")]


def test_host_prefixed_cookies_name_every_attribute_that_breaks_the_rule():
    found = validation.problems(content(cookie("__Host-id", secure=False, path="/app", domain="example.test")))

    assert fields_of(found) == ["declarations[0].secure", "declarations[0].path", "declarations[0].domain"]


def test_not_readable_by_javascript_is_consistent_with_http_only():
    assert validation.problems(content(cookie("c", http_only=True, purpose="Not readable by JavaScript."))) == []


def test_storage_keys_carry_no_cookie_attributes_each_named():
    key = cookie("k", kind="local_storage", http_only=None, path="/", same_site="lax")

    found = validation.problems(content(key))

    assert found == [
        FieldError("declarations[0].same_site", "k: same_site only applies to cookies, not to local_storage"),
        FieldError("declarations[0].path", "k: path only applies to cookies, not to local_storage"),
    ]


def test_every_problem_is_listed_at_once_in_document_order():
    bad = content(
        cookie("a", same_site="none"),
        cookie("a"),
        cookie("bad name"),
        cookie("x", category="elsewhere"),
        title=" ",
        not_used=["Ads", ""],
        contact=[ContactEntry(label="Privacy", value="")],
    )

    found = validation.problems(bad)

    assert fields_of(found) == [
        "title",
        "not_used[1]",
        "contact[0].value",
        "declarations[0].secure",
        "declarations[1].name",
        "declarations[2].name",
        "declarations[3].category",
    ]
    assert found[5].detail == "'bad name': not a valid cookie name"
    assert found[6].detail == "x: its category 'elsewhere' is tabled by no section, so the page would not show it"
    assert validation.problems(bad) == found  # stable: the same draft, the same paths in the same order


def test_sections_name_their_id_heading_level_and_table():
    sections = [
        Section(id="intro", heading="Intro", table_category="strictly necessary"),
        Section(id="intro", heading=" ", level=2),
        Section(id="Not An Anchor", heading="Deep", level=3),
        Section(id="skips", heading="Skips", level=3, table_category="nobody"),
    ]
    broken = msgspec.structs.replace(content(cookie("c")), sections=sections)

    found = validation.problems(broken)

    assert fields_of(found) == [
        "sections[1].id",
        "sections[1].heading",
        "sections[2].id",
        "sections[3].table_category",
    ]
    assert found[0].detail == "section id 'intro' is already used by sections[0]"


def test_headings_may_not_skip_a_level():
    sections = [Section(id="a", heading="A", level=3, table_category="strictly necessary")]
    broken = msgspec.structs.replace(content(cookie("c")), sections=sections)

    assert validation.problems(broken) == [
        FieldError("sections[0].level", "section 'a' is a level-3 heading right after level 1")
    ]

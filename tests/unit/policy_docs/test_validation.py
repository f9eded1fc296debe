"""The rules a version must pass before it can be published."""

import msgspec
import pytest

from policy_docs import validation
from policy_docs.schemas import Declaration, Duration, PolicyContent, Section
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


def content(*declarations: Declaration) -> PolicyContent:
    section = Section(id="necessary", heading="Necessary", table_category="strictly necessary")
    return PolicyContent(title="Cookie Policy", sections=[section], declarations=list(declarations))


def test_the_seed_is_valid():
    assert validation.problems(load_seed().content) == []


def test_duplicate_names_are_reported_once_each():
    assert validation.problems(content(cookie("a"), cookie("a"))) == ["a (cookie) is declared 2 times"]


def test_a_prefix_may_not_swallow_another_declaration():
    problems = validation.problems(content(cookie("ms_", match="prefix"), cookie("ms_theme")))

    assert problems == ["the prefix 'ms_' (cookie) swallows the declaration 'ms_theme'"]


def test_a_prefix_of_another_kind_is_fine():
    storage = cookie("ms_theme", kind="local_storage", http_only=None, path=None)
    assert validation.problems(content(cookie("ms_", match="prefix"), storage)) == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"http_only": True, "purpose": "Token readable by JavaScript"},
            "an HttpOnly cookie cannot be described as readable by JavaScript",
        ),
        (
            {"http_only": True, "type_label": "Cookie (not HttpOnly)"},
            "an HttpOnly cookie cannot be described as readable by JavaScript",
        ),
        ({"http_only": False, "type_label": "Cookie (HttpOnly)"}, "the type says HttpOnly but http_only is false"),
        ({"http_only": None}, "say whether the cookie is HttpOnly"),
        ({"same_site": "none"}, "SameSite=None requires Secure"),
        ({"path": "app"}, "the path must start with '/'"),
        (
            {"duration": Duration(kind="seconds", text="soon")},
            "a duration in seconds needs a positive number of seconds",
        ),
        (
            {"duration": Duration(kind="session", text="session", seconds=5)},
            "a session duration has no number of seconds",
        ),
        ({"duration": Duration(kind="persistent", text=" ")}, "the duration has no text for the page"),
    ],
)
def test_inconsistent_cookie_declarations_are_reported(fields, problem):
    assert validation.problems(content(cookie("c", **fields))) == [f"c: {problem}"]


def test_not_readable_by_javascript_is_consistent_with_http_only():
    assert validation.problems(content(cookie("c", http_only=True, purpose="Not readable by JavaScript."))) == []


def test_storage_keys_carry_no_cookie_attributes():
    key = cookie("k", kind="local_storage", http_only=None, path=None, same_site="lax")
    assert validation.problems(content(key)) == ["k: same_site only apply to cookies, not to local_storage"]


def test_every_problem_is_listed_at_once():
    bad = content(cookie("a", same_site="none"), cookie("a"), cookie("bad name"), cookie("x", category="elsewhere"))

    problems = validation.problems(bad)

    assert len(problems) == 4
    assert "'bad name': not a valid cookie name" in problems
    assert "x: its category 'elsewhere' is tabled by no section, so the page would not show it" in problems


def test_headings_may_not_skip_a_level():
    sections = [Section(id="a", heading="A", level=3, table_category="strictly necessary")]
    broken = msgspec.structs.replace(content(cookie("c")), sections=sections)
    assert validation.problems(broken) == ["section 'a' is a level-3 heading right after level 1"]

"""guard.js is rendered from the declarations in force: allowlist injected as data, minified, under budget."""

import json
import re
import typing

import pytest
from litestar.testing import TestClient

from governance.app import create_app
from governance.enforcement import guardjs
from governance.enforcement.schemas import BrowserReason, BrowserReport
from policy_docs.schemas import Duration
from tests.conftest import base_settings
from tests.unit.enforcement.declarations import SEED, cookie, storage

BUDGET_GZIPPED = 6 * 1024


def injected(script: str) -> dict:
    """The configuration literal the renderer put where the source says __GUARD_CONFIG__."""
    return json.loads(re.search(r"\}\)\((\{.*\})\);\s*$", script, re.S).group(1))


def test_the_declarations_mode_and_version_are_injected_as_data():
    script = guardjs.render(SEED, mode="enforce", version=4, require_secure=True)
    config = injected(script)

    assert script.startswith("/* MailSetu storage guard: policy v4,")
    assert (config["mode"], config["require_secure"], config["endpoint"]) == ("enforce", True, "/governance/violations")
    assert config["allow"]["cookie"][0] == ["ms_access", False, True, None, "lax", None, "/", "seconds", 2592000]
    assert config["allow"]["local_storage"] == [["ms_journey_", True, None, None, None, None, None, "persistent", None]]
    assert config["allow"]["session_storage"] == []


def test_prefixes_come_first_and_longest_first_as_the_server_matches_them():
    declarations = [
        storage("local_storage", n, match=m) for n, m in [("a", "exact"), ("ab_", "prefix"), ("abc_", "prefix")]
    ]

    names = [
        entry[0] for entry in injected(guardjs.render(declarations, mode="report", version=1))["allow"]["local_storage"]
    ]

    assert names == ["abc_", "ab_", "a"]


def test_a_hostile_declaration_name_cannot_break_out_of_the_script():
    name = "</script><script>alert(1)</script>\u2028"
    script = guardjs.render([storage("local_storage", name)], mode="enforce", version=1)

    assert "</script" not in script and "\u2028" not in script
    assert injected(script)["allow"]["local_storage"][0][0] == name


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_minified_and_gzipped_it_stays_under_6_kb(mode):
    declarations = [*SEED, *(cookie(f"cookie_{i}", same_site="lax", path="/") for i in range(30))]
    sizes = guardjs.size_report(declarations)
    script = guardjs.render(declarations, mode=mode, version=1)

    assert guardjs.sizes(script)[1] <= BUDGET_GZIPPED
    assert sizes["gzipped"] <= BUDGET_GZIPPED < sizes["minified"] < sizes["source"]
    assert "Tamper resistance" not in script  # the source's comments are not shipped


def test_a_rendered_script_is_cached_per_policy():
    first = guardjs.render(SEED, mode="enforce", version=3)

    assert guardjs.render(list(SEED), mode="enforce", version=3) is first
    assert guardjs.render(SEED, mode="report", version=3) is not first


def test_off_mode_serves_a_script_that_does_nothing_and_a_bad_mode_is_refused():
    assert guardjs.render(SEED, mode="off", version=1) == guardjs.OFF
    with pytest.raises(ValueError, match="mode must be one of"):
        guardjs.render(SEED, mode="strict", version=1)


def test_reports_carry_exactly_the_intake_fields_and_reasons_it_accepts():
    source = guardjs.SOURCE_PATH.read_text()

    fields = set(re.findall(r"\bbody\.(\w+) =", source))
    reasons = set(re.findall(r'return "(\w+)";', source)) | set(re.findall(r'report\([^)]*"(\w+)"\)', source))

    assert fields == set(BrowserReport.__struct_fields__) and "value" not in fields  # names, never values
    assert reasons == set(typing.get_args(BrowserReason))


def test_a_session_duration_and_unpinned_attributes_are_data_too():
    theme = cookie("ms_theme", duration=Duration(kind="session", text="session"), domain=".Example.org")

    [entry] = injected(guardjs.render([theme], mode="enforce", version=None))["allow"]["cookie"]

    assert entry == ["ms_theme", False, None, None, None, ".Example.org", None, "session", None]


def test_the_app_minifies_the_guard_at_startup_not_on_the_first_request(tmp_path):
    guardjs.minified.cache_clear()
    app = create_app(base_settings(f"sqlite+aiosqlite:///{tmp_path}/empty.db"))
    assert guardjs.minified.cache_info().currsize == 0
    with TestClient(app):
        assert guardjs.minified.cache_info().currsize == 1

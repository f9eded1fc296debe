"""guard.js is generated from the declarations in force and stays small."""

import json
import re

from governance.enforcement import guardjs
from tests.unit.enforcement.declarations import SEED


def test_guard_js_carries_the_declarations_mode_and_version():
    script = guardjs.render(SEED, mode="enforce", version=4)
    allow = json.loads(re.search(r"A=(\{.*\}),seen=", script).group(1))

    assert allow["cookie"][0] == ["ms_access", 0, 1]
    assert ["ms_journey_", 1, 0] in allow["local_storage"]
    assert 'M="enforce"' in script and "policy v4" in script


def test_guard_js_sends_names_never_values():
    script = guardjs.render(SEED, mode="report", version=1)
    beacon = re.search(r"JSON\.stringify\((\{.*?\})\)", script).group(1)
    assert "value" not in beacon and "kind:k,name:n" in beacon


def test_guard_js_stays_under_two_kilobytes_gzipped():
    raw, gzipped = guardjs.sizes(guardjs.render(SEED, mode="enforce", version=1))
    assert gzipped < 2048 and raw < 4096


def test_off_mode_serves_a_script_that_does_nothing():
    assert guardjs.render(SEED, mode="off", version=1) == guardjs.OFF

"""Token-in-body mode: the conditional declaration applies exactly where the deployment enables it."""

import msgspec

from governance.enforcement import guardjs
from governance.enforcement.allowlist import Deployment
from policy_docs.seed import load_seed
from tests.unit.enforcement.declarations import SEED, storage

TOKEN = msgspec.structs.replace(storage("local_storage", "ms_token"), requires="token_in_body")


def names(declarations):
    return [d.name for d in declarations if d.kind == "local_storage"]


def test_the_token_key_is_left_out_unless_the_mode_is_on():
    declarations = [*SEED, TOKEN]

    assert "ms_token" not in names(Deployment().declarations(declarations))
    assert names(Deployment(token_in_body=True).declarations(declarations)) == ["ms_journey_", "ms_token"]


def test_the_deployment_names_the_key():
    on = Deployment(token_in_body=True, token_key="dashboard_jwt")

    applied = on.declarations([*SEED, TOKEN])

    assert names(applied) == ["ms_journey_", "dashboard_jwt"]
    assert names(Deployment(token_key="dashboard_jwt").declarations([*SEED, TOKEN])) == ["ms_journey_"]  # mode off


def test_guard_js_allows_the_token_key_only_in_token_in_body_mode():
    seed = load_seed().content.declarations

    off = guardjs.render(Deployment().declarations(seed), mode="enforce", version=1)
    on = guardjs.render(Deployment(token_in_body=True).declarations(seed), mode="enforce", version=1)

    assert '"ms_token"' not in off and '"ms_journey_visitor_id"' in off
    assert '"ms_token"' in on


def test_a_version_without_conditional_items_is_used_as_it_is():
    seed = load_seed()
    unconditional = [d for d in seed.content.declarations if d.requires != "token_in_body"]

    assert Deployment(token_in_body=True).declarations(unconditional) == unconditional


def test_the_seed_declares_the_token_key_conditionally_and_its_canonical_json_omits_the_field_elsewhere():
    seed = load_seed().content.declarations
    [token] = [d for d in seed if d.requires == "token_in_body"]
    access = next(d for d in seed if d.name == "ms_access")

    assert (token.kind, token.name, token.category) == ("local_storage", "ms_token", "first-party storage")
    assert b"requires" not in msgspec.json.encode(access)  # hashes of versions before the field stay the same
    assert msgspec.json.decode(msgspec.json.encode(token), type=type(token)) == token

"""Token-in-body mode: the legacy Bearer token's localStorage key is allowed exactly where the
deployment enables the mode, everywhere the declarations are used, and the page says it is conditional."""

from collections.abc import Callable, Iterator

import pytest
from litestar.testing import TestClient

from governance.app import create_app
from tests.conftest import base_settings, login


@pytest.fixture
def deployment(db) -> Iterator[Callable[..., TestClient]]:
    """`deployment(token_in_body=True)`: a started client (an auditor signed in) on an app with those settings."""
    clients = []

    def start(**settings) -> TestClient:
        client = TestClient(create_app(base_settings(db.url, **settings)), base_url="http://testserver.local")
        clients.append(client.__enter__())
        login(client, db.create_user("auditor"))
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def storage_keys(client: TestClient) -> dict[str, set[str]]:
    allowlist = {item["name"] for item in client.get("/governance/allowlist.json").json()["local_storage"]}
    guard_js = client.get("/governance/guard.js").text
    inventory = {r["name"] for r in client.get("/api/inventory").json() if r["kind"] == "local_storage"}
    return {"allowlist": allowlist, "guard.js": {k for k in allowlist | {"ms_token", "dashboard_jwt"} if f'"{k}"' in guard_js},
            "inventory": inventory}  # fmt: skip


def test_off_by_default_the_token_key_is_allowed_nowhere(deployment):
    keys = storage_keys(deployment())

    for where, found in keys.items():
        assert "ms_token" not in found, where
        assert "ms_journey_visitor_id" in found, where  # an unconditional key: the positive control


def test_on_the_token_key_is_allowed_everywhere(deployment):
    keys = storage_keys(deployment(token_in_body=True))

    for where, found in keys.items():
        assert {"ms_token", "ms_journey_visitor_id"} <= found, where


def test_the_deployment_names_the_key(deployment):
    keys = storage_keys(deployment(token_in_body=True, token_in_body_key="dashboard_jwt"))

    for where, found in keys.items():
        assert "dashboard_jwt" in found and "ms_token" not in found, where


def test_the_public_page_marks_the_key_as_conditional_whatever_the_mode(deployment):
    for client in (deployment(), deployment(token_in_body=True)):
        page = client.get("/cookie-policy").text

        assert "<code>ms_token</code><span> (only if the deployment enables token-in-body mode)</span>" in page
        assert "<code>ms_journey_visitor_id</code></th>" in page  # unconditional rows carry no such note


def test_the_published_version_still_declares_it_with_its_condition(deployment):
    client = deployment()

    declarations = client.get("/api/policy/current").json()["declarations"]

    [token] = [d for d in declarations if d["name"] == "ms_token"]
    assert token["requires"] == "token_in_body"
    assert all("requires" not in d for d in declarations if d["name"] != "ms_token")

"""Cookies coming back: an undeclared cookie arriving at this service is a violation (source `request`),
reported once per name, policy version and instance, never with its value; the tracking routes are left out."""

import pytest

from tests.conftest import login
from tests.integration.enforcement.conftest import recorded

SECRET = "value-that-must-never-be-stored"


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_an_undeclared_cookie_arriving_is_recorded_once_without_its_value(guarded, db, mode):
    client = guarded(cookie_guard_mode=mode)

    for _ in range(3):
        assert client.get("/cookie-policy", headers={"Cookie": f"ms_csrf=c; tracker={SECRET}"}).status_code == 200

    [violation] = recorded(client, db)  # ms_csrf is declared: the positive control
    assert (violation.source, violation.kind, violation.name, violation.reason, violation.count) == (
        "request", "cookie", "tracker", "undeclared", 1,
    )  # fmt: skip
    assert violation.page == "/cookie-policy" and violation.policy_version == 1
    stored = " ".join(str(getattr(violation, column)) for column in ("name", "detail", "page", "user_agent"))
    assert SECRET not in stored


def test_the_tracking_routes_are_left_out(guarded, db):
    client = guarded()

    client.get("/t/o/not-a-token.gif", headers={"Cookie": "pixel_tracker=1"})
    assert recorded(client, db) == []
    client.get("/cookie-policy", headers={"Cookie": "pixel_tracker=1"})  # the same cookie elsewhere is seen
    assert [v.name for v in recorded(client, db)] == ["pixel_tracker"]


def test_off_mode_observes_nothing(guarded, db):
    client = guarded(cookie_guard_mode="off")

    client.get("/cookie-policy", headers={"Cookie": "tracker=1"})

    assert recorded(client, db) == []


def test_request_cookies_show_up_in_drift(guarded, db):
    client = guarded()
    client.get("/cookie-policy", headers={"Cookie": "tracker=1"})
    recorded(client, db)
    login(client, db.create_user("auditor"))

    items = client.get("/api/drift").json()["items"]

    assert [(i["kind"], i["name"], i["sources"], i["reasons"]) for i in items] == [
        ("cookie", "tracker", ["request"], ["undeclared"])
    ]

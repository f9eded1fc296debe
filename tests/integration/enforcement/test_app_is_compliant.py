"""This service sets only what its own policy declares: the guard in enforce mode finds nothing."""

import pytest
from litestar.testing import TestClient

from governance.app import create_app
from tests.conftest import base_settings
from tests.integration.enforcement.conftest import recorded, set_cookie_names


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https-deployment"])
def test_a_whole_session_passes_the_guard_in_enforce_mode(db, secure):
    user = db.create_user("privacy_staff")
    settings = base_settings(db.url, cookie_guard_mode="enforce", cookie_secure=secure)
    base_url = "https://testserver.local" if secure else "http://testserver.local"
    with TestClient(create_app(settings), base_url=base_url) as client:
        login = client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
        assert login.status_code == 200 and set_cookie_names(login) == ["ms_access", "ms_csrf"]
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        for path in ("/auth/me", "/cookie-policy", "/cookie-policy/versions", "/api/policy/current", "/health",
                     "/governance/allowlist.json", "/governance/guard.js", "/api/violations", "/no-such-page"):  # fmt: skip
            assert client.get(path).status_code < 500, path
        assert client.post("/auth/logout").status_code == 403  # no CSRF header: an error response
        logout = client.post("/auth/logout", headers=csrf)
        assert logout.status_code == 200 and set_cookie_names(logout) == ["ms_access", "ms_csrf"]
        assert client.get("/auth/me").status_code == 401

        assert recorded(client, db) == []

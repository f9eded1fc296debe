"""Signing in and out of the console; who may use it; the CSP and cookies of its pages."""

from __future__ import annotations

from collections.abc import Callable

from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from governance.console.web import CSP
from tests.conftest import Database
from tests.integration.console.conftest import console_sign_in


def test_sign_in_page_is_public_and_strict(client: TestClient) -> None:
    response = client.get("/console/sign-in")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert "unsafe" not in CSP
    assert "set-cookie" not in response.headers
    tree = HTMLParser(response.text)
    assert tree.css_first("label[for=email]") is not None
    assert tree.css_first("form[action='/console/sign-in']") is not None
    for script in tree.css("script"):
        assert script.attributes.get("src", "").startswith("/console/static/")  # no inline script
    assert client.get("/console/static/vendor/htmx-2.0.11.min.js").status_code == 200


def test_a_page_before_signing_in_goes_to_sign_in_and_back(client: TestClient, db: Database) -> None:
    response = client.get("/console/?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=%2Fconsole%3Fx%3D1"
    user = db.create_user("auditor")
    response = client.post(
        "/console/sign-in",
        data={"email": user["email"], "password": user["password"], "next": "/console?x=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console?x=1"
    assert sorted(c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")) == ["ms_access", "ms_csrf"]
    home = client.get("/console/")
    assert home.status_code == 200
    assert "read-only" in home.text


def test_sign_in_never_redirects_off_the_console(client: TestClient, db: Database) -> None:
    user = db.create_user("privacy_staff")
    for target in ["https://evil.example/", "//evil.example/", "/api/audit", "/console\\@evil"]:
        response = client.post(
            "/console/sign-in",
            data={"email": user["email"], "password": user["password"], "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/console/", target


def test_wrong_password_is_shown_and_locks_out_like_the_api(client: TestClient, db: Database) -> None:
    user = db.create_user("privacy_staff")
    for _ in range(5):
        response = client.post("/console/sign-in", data={"email": user["email"], "password": "nope"})
        assert response.status_code == 401
        assert "Wrong email or password" in response.text
    locked = client.post("/console/sign-in", data={"email": user["email"], "password": user["password"]})
    assert locked.status_code == 429
    assert "too many failed logins" in locked.text
    api = client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    assert api.status_code == 429  # one lockout, whichever door was knocked on


def test_empty_form_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post("/console/sign-in", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert "Enter your email and password" in response.text


def test_members_and_api_keys_get_the_403_page(client: TestClient, db: Database) -> None:
    console_sign_in(client, db.create_user("member", account="acme"))
    response = client.get("/console/")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert "this needs one of the roles" in response.text
    client.cookies.clear()
    key = db.create_api_key("acme")
    response = client.get("/console/", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
    assert "<h1>Forbidden</h1>" in response.text


def test_unknown_console_page_is_a_404_page(client: TestClient, console_as: Callable[..., dict[str, str]]) -> None:
    console_as("auditor")
    response = client.get("/console/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_sign_out_needs_csrf_and_clears_both_cookies(
    client: TestClient, console_as: Callable[..., dict[str, str]]
) -> None:
    headers = console_as("privacy_staff")
    refused = client.post("/console/sign-out", headers={"HX-Request": "true"})
    assert refused.status_code == 403
    response = client.post("/console/sign-out", headers=headers)
    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/console/sign-in"
    cleared = response.headers.get_list("set-cookie")
    assert sorted(c.split("=", 1)[0] for c in cleared) == ["ms_access", "ms_csrf"]
    assert all("Max-Age=0" in c for c in cleared)
    assert client.get("/console/", follow_redirects=False).status_code == 303  # the session is revoked


def test_home_shows_the_version_in_force(client: TestClient, console_as: Callable[..., dict[str, str]]) -> None:
    console_as("privacy_staff")
    response = client.get("/console/")
    assert response.status_code == 200
    tree = HTMLParser(response.text)
    assert "Version 1" in tree.css_first("#h-in-force").parent.text()
    assert tree.css_first("a[aria-current=page]").text() == "Home"
    assert tree.css_first("body").attributes["hx-headers"] == f'{{"X-CSRF-Token": "{client.cookies["ms_csrf"]}"}}'
    assert "read-only" not in response.text

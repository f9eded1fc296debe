"""Signing in and out: the two declared cookies, with the declared attributes."""

from http.cookies import SimpleCookie

import jwt

from tests.conftest import login


def set_cookies(response) -> dict[str, SimpleCookie]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie(header)
        cookies.update(dict(parsed.items()))
    return cookies


def test_login_sets_exactly_the_two_declared_cookies(client, db):
    user = db.create_user("privacy_staff")
    response = client.post("/auth/login", json={"email": user["email"], "password": user["password"]})

    assert response.status_code == 200
    cookies = set_cookies(response)
    assert set(cookies) == {"ms_access", "ms_csrf"}
    access, csrf = cookies["ms_access"], cookies["ms_csrf"]
    assert access["httponly"] and not csrf["httponly"]
    for morsel in (access, csrf):
        assert morsel["path"] == "/"
        assert morsel["samesite"].lower() == "lax"
        assert morsel["max-age"] == str(30 * 24 * 3600)
        assert not morsel["secure"]
    assert response.json()["csrf_token"] == csrf.value
    assert "access_token" not in response.json()


def test_me_answers_for_the_signed_in_user(client, db):
    user = db.create_user("auditor")
    login(client, user)

    me = client.get("/auth/me").json()

    assert me["email"] == user["email"] and me["roles"] == ["auditor"] and me["account_id"] is None


def test_logout_revokes_the_session_and_clears_both_cookies(client, db):
    user = db.create_user("member", account="acme")
    csrf = login(client, user)
    stolen = client.cookies.get("ms_access")

    response = client.post("/auth/logout", headers=csrf)

    assert response.status_code == 200
    cleared = set_cookies(response)
    assert set(cleared) == {"ms_access", "ms_csrf"}
    assert all(m["max-age"] == "0" and m["path"] == "/" for m in cleared.values())
    assert cleared["ms_access"]["httponly"]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {stolen}"}).status_code == 401


def test_health_reports_the_database(client, db):
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_the_session_jwt_carries_subject_roles_account_jti_epoch_and_expiry(client, db):
    user = db.create_user("member", account="acme")
    login(client, user)

    claims = jwt.decode(client.cookies.get("ms_access"), options={"verify_signature": False})

    assert set(claims) == {"sub", "roles", "account", "jti", "exp", "iat", "epoch"}
    assert claims["sub"] == str(user["id"]) and claims["roles"] == ["member"]
    assert claims["account"] == str(user["account_id"])
    assert claims["epoch"] == 0  # ends with the user's next password reset or disabling
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600

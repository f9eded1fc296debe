"""`/api/users` (admins) and the admin side of `/api/api-keys`: every change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from auth.models import Account, ApiKey
from governance.app import create_app
from governance.core.clock import utcnow
from tests.conftest import PASSWORD, login

NEW_PASSWORD = "a brand new passphrase"


def other_client(settings) -> TestClient:
    """A second browser: an app of its own (its own event loop and engine), on the same database."""
    return TestClient(create_app(settings), base_url="http://testserver.local")


def actions(db) -> list[str]:
    """The people and API-key entries of the audit log, oldest first."""
    found = db.run(lambda s: s.scalars(select_actions()))
    return [a for a in found if a.startswith(("user.", "api_key."))]


def select_actions():
    from governance.core.audit import AuditEntry

    return select(AuditEntry.action).order_by(AuditEntry.id)


def test_an_admin_creates_lists_and_changes_users(client, login_as, db):
    csrf = login_as("admin")

    created = client.post(
        "/api/users/",
        json={"email": "Ana@Example.test", "password": PASSWORD, "roles": ["privacy_staff"]},
        headers=csrf,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "ana@example.test" and user["roles"] == ["privacy_staff"]
    assert user["active"] is True and user["locked"] is False and user["account"] is None

    member = client.post(
        "/api/users/",
        json={"email": "m@acme.test", "password": PASSWORD, "roles": ["member"], "account": "acme"},
        headers=csrf,
    ).json()
    assert member["account"] == "acme" and member["account_id"]

    listed = client.get("/api/users/", params={"limit": 2}).json()
    assert listed["total"] == 3 and len(listed["items"]) == 2

    changed = client.patch(f"/api/users/{user['id']}", json={"roles": ["auditor", "privacy_staff"]}, headers=csrf)
    assert changed.status_code == 200 and changed.json()["roles"] == ["auditor", "privacy_staff"]
    disabled = client.patch(f"/api/users/{user['id']}", json={"active": False}, headers=csrf).json()
    assert disabled["active"] is False and disabled["roles"] == ["auditor", "privacy_staff"]  # a merge

    assert actions(db) == ["user.create", "user.create", "user.roles", "user.disable"]


def test_a_disabled_user_cannot_sign_in_and_their_session_ends(client, db, login_as, settings):
    victim = db.create_user("auditor")
    with other_client(settings) as other:
        login(other, victim)
        csrf = login_as("admin")
        client.patch(f"/api/users/{victim['id']}", json={"active": False}, headers=csrf)

        assert other.get("/auth/me").status_code == 401
        assert other.post("/auth/login", json={"email": victim["email"], "password": PASSWORD}).status_code == 401


def test_a_password_reset_ends_the_users_sessions(client, db, login_as, settings):
    victim = db.create_user("privacy_staff")
    with other_client(settings) as other:
        login(other, victim)
        assert other.get("/auth/me").status_code == 200
        csrf = login_as("admin")

        reset = client.post(f"/api/users/{victim['id']}/password", json={"password": NEW_PASSWORD}, headers=csrf)

        assert reset.status_code == 204
        assert other.get("/auth/me").status_code == 401
        assert other.post("/auth/login", json={"email": victim["email"], "password": PASSWORD}).status_code == 401
        assert other.post("/auth/login", json={"email": victim["email"], "password": NEW_PASSWORD}).status_code == 200
        assert other.get("/auth/me").status_code == 200
    assert "user.password_reset" in actions(db)


def test_a_short_password_is_a_422_naming_the_rule(client, db, login_as):
    victim = db.create_user("auditor")
    csrf = login_as("admin")

    response = client.post(f"/api/users/{victim['id']}/password", json={"password": "short"}, headers=csrf)

    assert response.status_code == 422 and "12 characters" in response.json()["detail"]


def test_unlock_lifts_the_failed_login_lockout(client, db, login_as, settings):
    victim = db.create_user("auditor")
    with other_client(settings) as other:
        for _ in range(settings.login_max_failures):
            other.post("/auth/login", json={"email": victim["email"], "password": "wrong password!!"})
        assert other.post("/auth/login", json={"email": victim["email"], "password": PASSWORD}).status_code == 429
        csrf = login_as("admin")
        [row] = [u for u in client.get("/api/users/").json()["items"] if u["email"] == victim["email"]]
        assert row["locked"] is True

        assert client.post(f"/api/users/{victim['id']}/unlock", headers=csrf).status_code == 204

        assert client.get(f"/api/users/{victim['id']}").json()["locked"] is False
        assert other.post("/auth/login", json={"email": victim["email"], "password": PASSWORD}).status_code == 200
    assert actions(db)[-1] == "user.unlock"


def test_admins_cannot_remove_their_own_admin_role_or_disable_themselves(client, db):
    admin = db.create_user("admin")
    csrf = login(client, admin)

    demoted = client.patch(f"/api/users/{admin['id']}", json={"roles": ["auditor"]}, headers=csrf)
    disabled = client.patch(f"/api/users/{admin['id']}", json={"active": False}, headers=csrf)

    assert demoted.status_code == 409 and "your own admin role" in demoted.json()["detail"]
    assert disabled.status_code == 409 and "disable your own" in disabled.json()["detail"]
    assert (
        client.patch(f"/api/users/{admin['id']}", json={"roles": ["admin", "auditor"]}, headers=csrf).status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"email": "x@example.test", "password": PASSWORD, "roles": ["wizard"]}, 422, "unknown role"),
        ({"email": "x@example.test", "password": PASSWORD, "roles": ["member"]}, 422, "members need an account"),
        ({"email": "x@example.test", "password": PASSWORD, "roles": ["auditor"], "account": "a"}, 422, "staff"),
        ({"email": "not-an-email", "password": PASSWORD, "roles": ["auditor"]}, 422, "not an email"),
        ({"email": "x@example.test", "password": PASSWORD, "roles": []}, 400, "roles"),
        ({"email": "x@example.test", "password": PASSWORD, "roles": ["auditor"], "admin": True}, 400, "admin"),
    ],
)
def test_bad_new_users_are_refused_naming_the_problem(client, login_as, body, status, words):
    csrf = login_as("admin")

    response = client.post("/api/users/", json=body, headers=csrf)

    assert response.status_code == status and words in response.text


def test_a_second_user_with_the_same_email_is_a_409(client, db, login_as):
    existing = db.create_user("auditor")
    csrf = login_as("admin")

    response = client.post(
        "/api/users/", json={"email": existing["email"], "password": PASSWORD, "roles": ["auditor"]}, headers=csrf
    )

    assert response.status_code == 409


@pytest.mark.parametrize("role", ["privacy_staff", "auditor"])
def test_only_admins_manage_people(client, db, login_as, role):
    victim = db.create_user("auditor")
    csrf = login_as(role)

    assert client.get("/api/users/").status_code == 403
    assert client.post(f"/api/users/{victim['id']}/unlock", headers=csrf).status_code == 403


def test_an_unknown_user_is_a_404(client, login_as):
    csrf = login_as("admin")

    assert client.patch("/api/users/00000000-0000-0000-0000-000000000000", json={}, headers=csrf).status_code == 404


def test_the_admin_key_list_shows_every_account_with_last_use(client, db, login_as):
    acme_key = db.create_api_key("acme")
    db.create_api_key("globex")
    login_as("admin")
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {acme_key}"}).status_code == 200

    keys = client.get("/api/api-keys/").json()

    assert sorted(k["account"] for k in keys) == ["acme", "globex"]
    used = {k["account"]: k["last_used_at"] for k in keys}
    assert used["acme"] is not None and used["globex"] is None


def test_last_use_is_written_at_most_once_a_minute(client, db):
    key = db.create_api_key("acme")
    bearer = {"Authorization": f"Bearer {key}"}
    client.get("/auth/me", headers=bearer)
    first = db.run(lambda s: s.scalar(select(ApiKey.last_used_at)))

    client.get("/auth/me", headers=bearer)
    assert db.run(lambda s: s.scalar(select(ApiKey.last_used_at))) == first

    db.run(lambda s: s.execute(update(ApiKey).values(last_used_at=utcnow() - timedelta(minutes=2))))
    client.get("/auth/me", headers=bearer)
    assert db.run(lambda s: s.scalar(select(ApiKey.last_used_at))) > first - timedelta(seconds=1)


def test_an_admin_creates_a_key_for_an_account_and_revokes_it_audited(client, db, login_as):
    db.create_api_key("acme")
    csrf = login_as("admin")
    account_id = db.run(lambda s: s.scalar(select(Account.id).where(Account.name == "acme")))

    created = client.post("/api/api-keys/", params={"account_id": str(account_id)}, json={"name": "ci"}, headers=csrf)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    revoked = client.delete(f"/api/api-keys/{created.json()['id']}", headers=csrf)
    client.delete(f"/api/api-keys/{created.json()['id']}", headers=csrf)  # twice: audited once

    assert revoked.status_code == 200
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert actions(db) == ["api_key.create", "api_key.revoke"]

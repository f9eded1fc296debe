"""API keys for machine clients: shown once, stored hashed, scoped to an account, revocable."""

from litestar.testing import TestClient
from sqlalchemy import select

from auth.models import Account
from governance.app import create_app
from tests.conftest import base_settings, login


def test_a_member_creates_a_key_that_is_shown_once_and_stored_hashed(client, db):
    csrf = login(client, db.create_user("member", account="acme"))

    created = client.post("/api/api-keys/", json={"name": "pipeline"}, headers=csrf).json()
    listed = client.get("/api/api-keys/").json()

    assert created["key"].startswith("msk_")
    assert [k["name"] for k in listed] == ["pipeline"] and "key" not in listed[0]
    assert db.scalar("SELECT count(*) FROM api_keys WHERE key_hash = :k", k=created["key"]) == 0


def test_a_key_acts_for_its_account_until_revoked(client, db):
    csrf = login(client, db.create_user("member", account="acme"))
    created = client.post("/api/api-keys/", json={}, headers=csrf).json()
    bearer = {"Authorization": f"Bearer {created['key']}"}

    me = client.get("/auth/me", headers=bearer).json()
    assert me["kind"] == "api_key" and me["roles"] == ["machine"]

    assert client.delete(f"/api/api-keys/{created['id']}", headers=csrf).status_code == 200
    assert client.get("/auth/me", headers=bearer).status_code == 401


def test_a_key_with_a_valid_prefix_but_wrong_secret_is_rejected(client, db):
    key = db.create_api_key("acme")
    forged = key[: key.rindex("_") + 1] + "A" * 43

    assert client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_an_admin_lists_every_account_or_one_and_must_name_the_account_of_a_new_key(client, db, login_as):
    db.create_api_key("acme")
    db.create_api_key("globex")
    csrf = login_as("admin")
    account_id = db.run(lambda s: s.scalar(select(Account.id).where(Account.name == "acme")))

    assert len(client.get("/api/api-keys/").json()) == 2
    assert [k["account"] for k in client.get("/api/api-keys/", params={"account_id": str(account_id)}).json()] == [
        "acme"
    ]
    assert client.post("/api/api-keys/", json={}, headers=csrf).status_code == 400


def test_token_in_body_mode_returns_a_bearer_token_usable_without_csrf(db):
    user = db.create_user("member", account="acme")
    app = create_app(base_settings(db.url, token_in_body=True))
    with TestClient(app, base_url="http://testserver.local") as client:
        token = client.post("/auth/login", json={"email": user["email"], "password": user["password"]}).json()[
            "access_token"
        ]
        client.cookies.clear()
        created = client.post("/api/api-keys/", json={}, headers={"Authorization": f"Bearer {token}"})

    assert created.status_code == 201


def test_secure_cookies_when_the_deployment_requires_them(db):
    user = db.create_user("auditor")
    app = create_app(base_settings(db.url, cookie_secure=True))
    with TestClient(app, base_url="https://testserver.local") as client:
        response = client.post("/auth/login", json={"email": user["email"], "password": user["password"]})

    assert all("Secure" in header for header in response.headers.get_list("set-cookie"))


def test_an_api_key_cannot_manage_api_keys(client, db):
    key = db.create_api_key("acme")
    bearer = {"Authorization": f"Bearer {key}"}

    assert client.post("/api/api-keys/", json={}, headers=bearer).status_code == 403
    assert client.get("/api/api-keys/", headers=bearer).status_code == 403

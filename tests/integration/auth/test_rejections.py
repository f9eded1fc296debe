"""Every way a request is refused: forged or stale tokens, CSRF, other accounts, password guessing."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from auth import passwords
from tests.conftest import PASSWORD, base_settings, login

SECRET = base_settings("sqlite://").jwt_secret


def claims(user, **overrides):
    now = datetime.now(UTC)
    payload = {
        "sub": str(user["id"]),
        "jti": "a" * 32,
        "roles": ["auditor"],
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    payload.update(overrides)
    return payload


def me_with(client, token):
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def auditor(db):
    return db.create_user("auditor")


def test_a_well_formed_token_is_accepted(client, auditor):
    assert me_with(client, jwt.encode(claims(auditor), SECRET, algorithm="HS256")).status_code == 200


def test_an_expired_token_is_rejected(client, auditor):
    past = datetime.now(UTC) - timedelta(minutes=5)
    token = jwt.encode(claims(auditor, exp=past, iat=past - timedelta(hours=1)), SECRET, algorithm="HS256")
    assert me_with(client, token).status_code == 401


def test_a_token_signed_with_another_key_is_rejected(client, auditor):
    assert (
        me_with(client, jwt.encode(claims(auditor), "another-secret-" + "q" * 32, algorithm="HS256")).status_code == 401
    )


def test_an_unsigned_alg_none_token_is_rejected(client, auditor):
    token = jwt.encode(claims(auditor), None, algorithm="none")
    assert me_with(client, token).status_code == 401


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_with_another_algorithm_is_rejected_even_with_the_right_key(client, auditor, algorithm):
    assert me_with(client, jwt.encode(claims(auditor), SECRET, algorithm=algorithm)).status_code == 401


def test_algorithm_confusion_with_an_asymmetric_header_is_rejected(client, auditor):
    """An RS256 header over an HMAC signature keyed with our secret: the classic confusion attack."""
    token = hand_signed({"alg": "RS256", "typ": "JWT"}, claims(auditor), SECRET.encode())
    assert me_with(client, token).status_code == 401


def hand_signed(header, payload, key):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data, default=lambda d: int(d.timestamp())).encode()).rstrip(b"=")

    signing_input = b64(header) + b"." + b64(payload)
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


def test_the_same_hand_signed_token_with_the_right_header_passes(client, auditor):
    """Proves `hand_signed` makes valid tokens, so the confusion test fails for the right reason."""
    token = hand_signed({"alg": "HS256", "typ": "JWT"}, claims(auditor), SECRET.encode())
    assert me_with(client, token).status_code == 200


def test_a_revoked_session_is_rejected(client, db, auditor):
    csrf = login(client, auditor)
    token = client.cookies.get("ms_access")
    client.post("/auth/logout", headers=csrf)

    assert me_with(client, token).status_code == 401
    client.cookies.set("ms_access", token)
    assert client.get("/auth/me").status_code == 401


def test_a_cookie_session_needs_the_csrf_header_on_unsafe_requests(client, db):
    csrf = login(client, db.create_user("member", account="acme"))

    assert client.post("/api/api-keys/", json={}).status_code == 403
    assert client.post("/api/api-keys/", json={}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/api/api-keys/", json={}, headers=csrf).status_code == 201


def test_a_planted_csrf_pair_not_bound_to_the_session_is_refused(client, db):
    login(client, db.create_user("member", account="acme"))
    client.cookies.set("ms_csrf", "attacker-chosen")

    assert client.post("/api/api-keys/", json={}, headers={"X-CSRF-Token": "attacker-chosen"}).status_code == 403


def test_a_bearer_request_needs_no_csrf_and_never_falls_back_to_cookies(client, db):
    login(client, db.create_user("member", account="acme"))
    key = db.create_api_key("acme")

    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).json()["kind"] == "api_key"
    assert client.get("/auth/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert client.get("/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_a_member_cannot_reach_another_accounts_resource(client, db):
    other_key_id = db.create_user("member", account="globex") and _first_key_id(client, db, "globex")
    csrf = login(client, db.create_user("member", account="acme"))

    assert client.delete(f"/api/api-keys/{other_key_id}", headers=csrf).status_code == 404
    assert client.get("/api/api-keys/").json() == []


def _first_key_id(client, db, account):
    csrf = login(client, db.create_user("member", account=account))
    key_id = client.post("/api/api-keys/", json={"name": "pipeline"}, headers=csrf).json()["id"]
    client.post("/auth/logout", headers=csrf)
    client.cookies.clear()
    return key_id


def test_staff_without_the_needed_role_get_403(client, login_as):
    login_as("auditor")
    assert client.get("/api/api-keys/").status_code == 403


def test_wrong_password_and_unknown_email_fail_alike(client, db, monkeypatch):
    """Same status and message, and both pay for one Argon2 verification (so they take similar time)."""
    user = db.create_user("auditor")
    verified = []
    real = passwords._passwords.hasher

    class CountingHasher:
        def verify(self, password_hash, password):
            verified.append(password_hash)
            return real.verify(password_hash, password)

    monkeypatch.setattr(passwords._passwords, "hasher", CountingHasher())

    wrong = client.post("/auth/login", json={"email": user["email"], "password": "not the password!"})
    unknown = client.post("/auth/login", json={"email": "nobody@example.test", "password": "not the password!"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong email or password"
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)


def test_repeated_failed_logins_are_rate_limited(client, db):
    user = db.create_user("auditor")
    for _ in range(5):
        assert (
            client.post("/auth/login", json={"email": user["email"], "password": "guess-guess-guess"}).status_code
            == 401
        )

    blocked = client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})

    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


def test_a_successful_login_resets_the_failure_count(client, db):
    user = db.create_user("auditor")
    for _ in range(4):
        client.post("/auth/login", json={"email": user["email"], "password": "guess-guess-guess"})
    login(client, user)
    for _ in range(4):
        client.post("/auth/login", json={"email": user["email"], "password": "guess-guess-guess"})

    assert client.post("/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200


def test_unauthenticated_requests_get_401(client, db):
    assert client.get("/auth/me").status_code == 401
    assert client.post("/auth/logout").status_code == 401


def test_one_client_spraying_many_emails_is_rate_limited(client, db):
    statuses = [
        client.post("/auth/login", json={"email": f"user{n}@example.test", "password": "guess-guess-guess"}).status_code
        for n in range(31)
    ]

    assert statuses[:30] == [401] * 30 and statuses[30] == 429

"""`python -m governance users create` and `api-keys create`, run as a person would."""

import os
import subprocess
import sys

from tests.conftest import PASSWORD


def governance(db, *args, stdin=""):
    env = {**os.environ, "MS_DATABASE_URL": db.url, "MS_JWT_SECRET": "j" * 40, "MS_TOKEN_KEYS": "k1:" + "t" * 40}
    return subprocess.run(
        [sys.executable, "-m", "governance", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_a_user_created_by_the_cli_can_sign_in(client, db):
    result = governance(
        db, "users", "create", "--email", "Staff@Example.test", "--role", "privacy_staff", stdin=PASSWORD + "\n"
    )

    assert result.returncode == 0, result.stderr
    response = client.post("/auth/login", json={"email": "staff@example.test", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["user"]["roles"] == ["privacy_staff"]


def test_the_cli_refuses_a_weak_password_with_a_sentence(db):
    result = governance(db, "users", "create", "--email", "x@example.test", "--role", "auditor", stdin="short\n")

    assert result.returncode != 0 and "at least 12 characters" in result.stderr


def test_if_missing_leaves_an_existing_user_alone(db):
    governance(db, "users", "create", "--email", "a@example.test", "--role", "admin", stdin=PASSWORD + "\n")
    again = governance(
        db, "users", "create", "--email", "a@example.test", "--role", "admin", "--if-missing", stdin=PASSWORD + "\n"
    )

    assert again.returncode == 0 and "already exists" in again.stdout


def test_an_api_key_created_by_the_cli_authenticates(client, db):
    result = governance(db, "api-keys", "create", "--account", "acme")

    key = result.stdout.strip()
    assert key.startswith("msk_") and "not shown again" in result.stderr
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).json()["kind"] == "api_key"

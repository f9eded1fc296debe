"""`python -m governance users create` and `api-keys create`, run as a person would."""

import os
import subprocess
import sys

from tests.conftest import PASSWORD


def test_a_user_created_by_python_m_governance_can_sign_in(client, db):
    env = {**os.environ, "MS_DATABASE_URL": db.url, "MS_JWT_SECRET": "j" * 40, "MS_TOKEN_KEYS": "k1:" + "t" * 40}
    command = [
        sys.executable,
        "-m",
        "governance",
        "users",
        "create",
        "--email",
        "Staff@Example.test",
        "--role",
        "privacy_staff",
    ]
    result = subprocess.run(command, input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 0, result.stderr
    response = client.post("/auth/login", json={"email": "staff@example.test", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["user"]["roles"] == ["privacy_staff"]


def test_the_cli_refuses_a_weak_password_with_a_sentence(cli, db):
    result = cli("users", "create", "--email", "x@example.test", "--role", "auditor", input="short\n")

    assert result.exit_code == 1 and "at least 12 characters" in result.stderr
    assert db.scalar("SELECT count(*) FROM users") == 0


def test_if_missing_leaves_an_existing_user_alone(cli, db):
    first = cli("users", "create", "--email", "a@example.test", "--role", "admin", input=PASSWORD + "\n")
    again = cli(
        "users", "create", "--email", "a@example.test", "--role", "admin", "--if-missing", input=PASSWORD + "\n"
    )

    assert first.exit_code == 0 and "created user a@example.test" in first.stdout
    assert again.exit_code == 0 and "already exists" in again.stdout
    assert db.scalar("SELECT count(*) FROM users") == 1


def test_an_api_key_created_by_the_cli_authenticates(cli, client, db):
    result = cli("api-keys", "create", "--account", "acme")

    key = result.stdout.strip()
    assert key.startswith("msk_") and "not shown again" in result.stderr
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).json()["kind"] == "api_key"

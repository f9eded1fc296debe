"""`python -m governance users list|disable|enable|set-roles|reset-password|unlock` and `api-keys list|revoke`."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.conftest import PASSWORD, login

NEW_PASSWORD = "another fine passphrase"


def audit_actions(db) -> list[str]:
    rows = db.run(lambda s: s.execute(_actions()))
    return [a for (a,) in rows if a.startswith(("user.", "api_key."))]


def _actions():
    from sqlalchemy import select

    from governance.core.audit import AuditEntry

    return select(AuditEntry.action).order_by(AuditEntry.id)


def test_users_list_shows_roles_accounts_and_state(cli, db):
    db.create_user("privacy_staff", email="ps@example.test")
    db.create_user("member", email="m@acme.test", account="acme")

    result = cli("users", "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:5] == ["email", "roles", "account", "active", "locked"]
    assert lines[1].split("\t")[:5] == ["m@acme.test", "member", "acme", "yes", "-"]
    assert lines[2].split("\t")[:5] == ["ps@example.test", "privacy_staff", "-", "yes", "-"]


def test_disable_enable_and_set_roles_are_audited(cli, db, client):
    user = db.create_user("auditor", email="a@example.test")

    assert cli("users", "set-roles", "a@example.test", "--role", "privacy_staff", "--role", "auditor").exit_code == 0
    disabled = cli("users", "disable", "A@Example.test")
    assert disabled.exit_code == 0 and "disabled" in disabled.stdout
    assert client.post("/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    assert cli("users", "enable", "a@example.test").exit_code == 0

    me = login(client, user) and client.get("/auth/me").json()
    assert me["roles"] == ["auditor", "privacy_staff"]
    assert audit_actions(db) == ["user.roles", "user.disable", "user.enable"]


def test_reset_password_reads_stdin_and_ends_sessions(cli, db, app):
    user = db.create_user("auditor", email="a@example.test")
    with TestClient(app, base_url="http://testserver.local") as client:
        login(client, user)

        result = cli("users", "reset-password", "a@example.test", input=NEW_PASSWORD + "\n")

        assert result.exit_code == 0, result.output
        assert client.get("/auth/me").status_code == 401
        assert client.post("/auth/login", json={"email": user["email"], "password": NEW_PASSWORD}).status_code == 200


def test_unlock_lifts_the_lockout(cli, db, client, settings):
    user = db.create_user("auditor", email="a@example.test")
    for _ in range(settings.login_max_failures):
        client.post("/auth/login", json={"email": user["email"], "password": "wrong password!!"})
    assert "locked" in cli("users", "list").stdout

    assert cli("users", "unlock", "a@example.test").exit_code == 0

    assert client.post("/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200
    assert audit_actions(db)[-1] == "user.unlock"


def test_bad_input_exits_non_zero_with_a_sentence(cli, db):
    db.create_user("member", email="m@acme.test", account="acme")

    unknown = cli("users", "disable", "nobody@example.test")
    staff_member = cli("users", "set-roles", "m@acme.test", "--role", "admin")
    bad_role = cli("users", "set-roles", "m@acme.test", "--role", "wizard")
    weak = cli("users", "reset-password", "m@acme.test", input="short\n")

    assert unknown.exit_code == 1 and "no user with email nobody@example.test" in unknown.stderr
    assert staff_member.exit_code == 1 and "staff users must not have one" in staff_member.stderr
    assert bad_role.exit_code == 2 and "wizard" in bad_role.stderr
    assert weak.exit_code == 1 and "12 characters" in weak.stderr


def test_api_keys_list_and_revoke_by_prefix(cli, db, client):
    key = db.create_api_key("acme")
    db.create_api_key("globex")
    prefix = key.removeprefix("msk_").split("_")[0]
    client.get("/auth/me", headers={"Authorization": f"Bearer {key}"})

    listed = cli("api-keys", "list")
    only_acme = cli("api-keys", "list", "--account", "acme")
    revoked = cli("api-keys", "revoke", prefix)

    assert listed.exit_code == 0 and len(listed.stdout.splitlines()) == 3
    [row] = only_acme.stdout.splitlines()[1:]
    assert row.startswith(f"{prefix}\tacme\ttest\t") and row.split("\t")[4] != "-"  # last use
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert audit_actions(db) == ["api_key.revoke"]
    assert cli("api-keys", "revoke", "nope").exit_code == 1
    assert cli("api-keys", "list", "--account", "initech").exit_code == 1

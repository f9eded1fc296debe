"""The evidence bundle: one zip whose every file is hashed in its manifest, for an instant and its period."""

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from governance.core import audit
from governance.enforcement import service as enforcement
from governance.enforcement.schemas import ViolationReport
from policy_docs.schemas import PolicyContent
from tests.integration.audit_log.helpers import chain, execute
from tests.integration.policy_docs.helpers import draft_with_theme_cookie, publish

V1_START = datetime(2026, 4, 17, tzinfo=UTC)


def violation(name: str, at: datetime) -> ViolationReport:
    return ViolationReport(
        source="server", kind="cookie", name=name, reason="undeclared", mode="enforce", page="/", occurred_at=at
    )


def open_bundle(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_every_file_matches_its_manifest_hash_and_the_policy_matches_its_version(client, db, login_as):
    login_as("auditor")

    response = client.get("/api/evidence")

    files = open_bundle(response)
    manifest = json.loads(files["manifest.json"])
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "SHA256SUMS"}
    for path, entry in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == entry["sha256"] and len(files[path]) == entry["bytes"], path
    sums = dict(reversed(line.split("  ")) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[path]).hexdigest() == digest for path, digest in sums.items())

    version = client.get("/api/policy/versions/1").json()
    assert hashlib.sha256(files["policy/content.json"]).hexdigest() == version["content_hash"]
    as_json = json.loads(files["policy/version.json"])
    content = msgspec.convert({k: as_json[k] for k in PolicyContent.__struct_fields__}, PolicyContent)
    assert hashlib.sha256(msgspec.json.encode(content, order="deterministic")).hexdigest() == version["content_hash"]
    assert as_json["content_hash"] == version["content_hash"] == manifest["sections"]["policy"]["content_hash"]
    assert b"ms_access" in files["policy/page.html"] and b"no longer in force" not in files["policy/page.html"]


def test_the_export_is_audited_with_the_manifest_hash(client, db, login_as):
    login_as("auditor")

    response = client.get("/api/evidence")

    files = open_bundle(response)
    digest = hashlib.sha256(files["manifest.json"]).hexdigest()
    [entry] = db.run(lambda s: audit.entries(s, action="evidence.export"))
    assert entry.details["manifest_sha256"] == digest == response.headers["x-manifest-sha256"]
    assert entry.actor.startswith("auditor") and entry.subject.startswith("cookie-policy v1 at ")


def test_the_period_holds_its_violations_purge_runs_and_audit_log_and_nothing_before(client, db, login_as):
    login_as("auditor")
    now = datetime.now(UTC)
    db.run(lambda s: enforcement.record(s, [violation("before_since", now - timedelta(days=3))]))
    db.run(lambda s: enforcement.record(s, [violation("in_period", now - timedelta(hours=1))]))

    files = open_bundle(client.get("/api/evidence", params={"since": (now - timedelta(days=1)).isoformat()}))

    names = [row["name"] for row in json.loads(files["violations/violations.json"])]
    assert names == ["in_period"]
    inventory = {row["name"] for row in json.loads(files["inventory/inventory.json"])}
    assert {"ms_access", "ms_csrf"} <= inventory and b"ms_access" in files["inventory/inventory.csv"]
    entries = json.loads(files["audit-log/entries.json"])
    verification = json.loads(files["audit-log/verification.json"])
    assert [e["action"] for e in entries] == ["policy.publish"]  # the seed of version 1, minutes ago
    assert verification["holds"] is True and verification["entries"] == 1
    manifest = json.loads(files["manifest.json"])
    assert manifest["sections"]["audit_log"]["holds"] is True and manifest["sections"]["violations"]["rows"] == 1


def test_a_broken_chain_is_reported_in_the_bundle_not_hidden(client, db, login_as):
    login_as("auditor")
    client.get("/api/evidence")  # one export entry after the seed's
    first = chain(db)[0]
    execute(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=first.id)

    files = open_bundle(client.get("/api/evidence"))

    verification = json.loads(files["audit-log/verification.json"])
    assert verification["holds"] is False and verification["broken"]["entry_id"] == first.id
    assert "does not verify" in verification["sentence"]


def test_a_past_instant_gets_the_version_in_force_then(client, db, login_as):
    headers = login_as("privacy_staff", "auditor")
    before = datetime.now(UTC)
    assert publish(client, headers, draft_with_theme_cookie(client, headers)["id"]).status_code == 201

    then = open_bundle(client.get("/api/evidence", params={"at": before.isoformat()}))
    now = open_bundle(client.get("/api/evidence"))

    assert json.loads(then["policy/version.json"])["number"] == 1 and b"ms_theme" not in then["inventory/inventory.csv"]
    assert json.loads(now["policy/version.json"])["number"] == 2 and b"ms_theme" in now["inventory/inventory.csv"]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"at": "soon"}, 400, "at"),
        ({"at": "2020-01-01"}, 404, None),
        ({"at": "2999-01-01"}, 422, "at"),
        ({"at": "2026-06-01", "since": "2026-07-01"}, 422, "since"),
        ({"since": "x" * 65}, 400, "since"),
    ],
)
def test_bad_instants_are_refused_with_a_reason(client, login_as, params, status, field):
    login_as("auditor")

    response = client.get("/api/evidence", params=params)

    assert response.status_code == status, response.text
    assert field is None or field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/api/evidence").status_code == 200


def test_only_auditors_and_staff(client, login_as):
    assert client.get("/api/evidence").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/evidence").status_code == 403


def test_the_route_is_documented(client):
    operation = client.get("/schema/openapi.json").json()["paths"]["/api/evidence"]["get"]

    assert operation["summary"] and operation["description"]
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert {"400", "404", "422"} <= set(operation["responses"])


def test_the_cli_writes_the_same_bundle(cli, client, db, tmp_path):
    client.get("/cookie-policy")  # the app seeded version 1
    target = tmp_path / "bundle.zip"

    result = cli("evidence", "export", "--at", datetime.now(UTC).isoformat(), "--output", str(target))
    missing = cli("evidence", "export")

    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["sections"]["policy"]["number"] == 1
        assert hashlib.sha256(archive.read("manifest.json")).hexdigest() in result.output
    assert missing.exit_code == 2 and "--at" in missing.output
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'evidence.export' AND actor = 'cli'") == 1

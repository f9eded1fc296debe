"""The audit launching a Chromium of its own (no --connect): the operator's everyday path.
This module's one browser is the one the command launches."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.audit_pages import CLEAN, serve_published_policy
from tests.e2e.audit_site import AuditSite
from tests.e2e.conftest import CHROMIUM, REPO


def test_the_audit_launches_its_own_chromium_and_keeps_third_party_cookies(tmp_path):
    site = AuditSite()
    try:
        allowlist = serve_published_policy(site)
        site.add(
            "/pixel.gif",
            "GIF89a",
            content_type="image/gif",
            headers=[("Set-Cookie", "pixel_id=1; SameSite=None; Secure; Path=/")],
        )
        page = site.add("/", CLEAN + f'<img src="{site.third}/pixel.gif" alt="">')

        result = subprocess.run(
            [sys.executable, "-m", "governance", "audit", page, "--allowlist", allowlist, "--chromium", CHROMIUM,
             "--format", "json", "--settle", "0.3", "--second-look", "0"],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        site.close()

    assert result.returncode == 1, result.stdout + result.stderr
    run = json.loads(result.stdout)
    assert run["browser"] and [p["status"] for p in run["pages"]] == ["ok"]
    # the fresh profile keeps third-party cookies, as most visitors' browsers do: the pixel's cookie is seen
    assert [(f["name"], f["host"]) for f in run["findings"]] == [("pixel_id", "localhost")]
    assert {c["id"]: c["status"] for c in run["claims"]}["no-third-party-cookies"] == "broken"

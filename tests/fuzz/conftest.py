"""A real server per engine for fuzzing the OpenAPI document, shared by a module (starting one per
operation would cost more than the fuzzing), and the credentials of an admin signed in to it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import Database, _empty_all_tables
from tests.e2e.conftest import REPO, LiveServer, _stop, _wait_until_up, free_port, server_environment


@pytest.fixture(scope="module")
def fuzzed_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    asyncio.run(_empty_all_tables(database_url))
    port = free_port()
    env = {**server_environment(database_url, port, journey_batches_per_minute=100_000), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "1", "governance.asgi:app"],
        cwd=tmp_path_factory.mktemp("fuzz"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(server.url, process)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def admin_headers(fuzzed_server: LiveServer, database_url: str) -> dict[str, str]:
    """The session cookie and CSRF header of a freshly created admin."""
    user = Database(database_url).create_user("admin", "privacy_staff")
    body = json.dumps({"email": user["email"], "password": user["password"]}).encode()
    request = urllib.request.Request(
        fuzzed_server.url_for("/auth/login"),
        data=body,
        headers={"Content-Type": "application/json", "Origin": fuzzed_server.url},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        cookies = "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie"))
        csrf = json.load(response)["csrf_token"]
    return {"Cookie": cookies, "X-CSRF-Token": csrf}


@pytest.fixture(scope="module")
def openapi_document(fuzzed_server: LiveServer) -> dict:
    with urllib.request.urlopen(fuzzed_server.url_for("/schema/openapi.json"), timeout=30) as response:
        return json.load(response)

"""Two server processes (granian, two workers each) on one PostgreSQL and one Redis, as the README's
"Running several instances" describes, with no secret given: dev generates them once for all.

Every check sends each request on a fresh connection, so the four workers share the requests; a
check passes only when it holds for every request (with 12+ per server, a worker left out would be
a coincidence of 1 in 2,000).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Database, RedisServer
from tests.integration.policy_docs.helpers import THEME_COOKIE
from tests.integration.tracking.conftest import DOMAIN, HTML
from tests.integration.tracking.servers import ROOT, free_port

STARTUP_SECONDS = 40
REQUESTS_PER_SERVER = 12
JOURNEY_ALLOWANCE = 6
SLOT = datetime.now(UTC)  # the scheduled purge time of the instances: this minute (see `instances`)
CLICK_TOKEN = re.compile(r"/t/c/([A-Za-z0-9_-]+)")


class Instance:
    """`governance.asgi:app` under granian with two workers, in a process group of its own."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{self.port}.log"
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "2", "--no-ws", "governance.asgi:app"]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=workdir, env={**env, "MS_PUBLIC_BASE_URL": self.url},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the instance did not start:\n{self.log.read_text()[-4000:]}", pytrace=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 2)  # SIGINT: a graceful stop
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)


def fresh(method: str, url: str, cookies: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """One request on a connection of its own (so any worker may take it)."""
    with httpx.Client(timeout=10, follow_redirects=False, cookies=cookies) as client:
        return client.request(method, url, **kwargs)


@pytest.fixture
def instances(db: Database, redis_server: RedisServer, tmp_path: Path) -> Iterator[list[Instance]]:
    if not db.url.startswith("postgresql"):
        pytest.skip("several instances share a PostgreSQL database (SQLite is one host's)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MS_")}
    env.update(
        MS_ENV="dev",
        MS_DATABASE_URL=db.url,
        MS_REDIS_URL=redis_server.url,
        MS_REDIS_NAMESPACE=redis_server.namespace(),
        MS_DEV_SECRETS_FILE=str(tmp_path / "shared" / "dev-secrets.json"),  # none given: generated once, for all
        MS_SCHEDULER_ENABLED="true",
        MS_PURGE_AT_UTC=SLOT.strftime("%H:%M"),  # this minute's slot: every worker's catch-up claims it
        MS_JOURNEY_BATCHES_PER_MINUTE=str(JOURNEY_ALLOWANCE),
        MS_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    started = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        started.append(Instance({**env, "MS_SPOOL_DIR": str(workdir / "spool")}, workdir))
    try:
        for instance in started:
            instance.wait_until_up()
        yield started
    finally:
        for instance in started:
            instance.stop()


def test_two_instances_of_two_workers_behave_as_one(instances: list[Instance], db: Database):
    a, b = instances
    slot = SLOT.strftime("%Y-%m-%dT%H:%MZ")
    user = db.create_user("privacy_staff", "admin")

    # A session and its CSRF token work on every worker of both instances.
    login = fresh("POST", f"{a.url}/auth/login", json={"email": user["email"], "password": user["password"]})
    assert login.status_code == 200, login.text
    cookies, csrf = dict(login.cookies), {"X-CSRF-Token": login.json()["csrf_token"]}
    me = [fresh("GET", f"{server.url}/auth/me", cookies=cookies).status_code for server in (a, b) * REQUESTS_PER_SERVER]
    assert me == [200] * len(me)
    drafts = [
        fresh(
            "POST",
            f"{server.url}/api/policy/drafts",
            cookies=cookies,
            headers=csrf,
            json={"change_summary": f"Draft {i}.", "material": False},
        )
        for i, server in enumerate((a, b) * 4)
    ]
    assert [r.status_code for r in drafts] == [201] * len(drafts), drafts[-1].text
    for draft in drafts:
        assert fresh(
            "DELETE", f"{b.url}/api/policy/drafts/{draft.json()['id']}", cookies=cookies, headers=csrf
        ).is_success

    # Every tracked link registered on one instance redirects on every worker of both.
    key = db.create_api_key("acme")
    bearer = {"Authorization": f"Bearer {key}"}
    assert fresh("POST", f"{a.url}/api/domains", json={"domain": DOMAIN}, headers=bearer).status_code == 201
    tracking = {"track_opens": True, "track_clicks": True}
    assert fresh("PUT", f"{a.url}/api/domains/{DOMAIN}/tracking", json=tracking, headers=bearer).status_code == 200
    email = fresh("POST", f"{a.url}/api/emails", headers=bearer,
                  json={"domain": DOMAIN, "recipient": "r@mail.example", "message_id": "<m@acme.example>", "html": HTML})  # fmt: skip
    assert email.status_code == 201, email.text
    [token] = CLICK_TOKEN.findall(email.text)
    clicks = [fresh("GET", f"{server.url}/t/c/{token}") for server in (a, b) * REQUESTS_PER_SERVER]
    assert {(r.status_code, r.headers.get("location")) for r in clicks} == {(302, "https://shop.example/sale?a=1&b=2")}

    # One rate limit across both instances: the client's allowance is spent once.
    batch = {"visitor_id": "5b0f3b55-1d50-4f43-9d2b-5b0fd7cbd9a1", "events": [{"type": "page_view", "url": "/"}]}
    statuses = [
        fresh(
            "POST",
            f"{server.url}/journey/events",
            json={**batch, "session_id": f"7c9e6679-7425-40de-944b-e07fc1f90a{i:02d}"},
        ).status_code
        for i, server in enumerate((a, b) * JOURNEY_ALLOWANCE)
    ]
    assert statuses == [202] * JOURNEY_ALLOWANCE + [429] * JOURNEY_ALLOWANCE

    # A publish on one instance is served by every worker of both within a second. Each worker's
    # cache was just refreshed, so its 5 s poll cannot be what shows it.
    for server in (a, b) * REQUESTS_PER_SERVER:
        assert fresh("GET", f"{server.url}/api/policy/current").json()["number"] == 1
    draft = fresh("POST", f"{a.url}/api/policy/drafts", cookies=cookies, headers=csrf,
                  json={"change_summary": "Adds the theme cookie.", "material": True}).json()  # fmt: skip
    patched = fresh("PATCH", f"{a.url}/api/policy/drafts/{draft['id']}", cookies=cookies, headers=csrf,
                    json={"upsert_declarations": [THEME_COOKIE]})  # fmt: skip
    assert patched.status_code == 200, patched.text
    published = fresh(
        "POST", f"{a.url}/api/policy/drafts/{draft['id']}/publish", cookies=cookies, headers=csrf, json={}
    )
    assert published.status_code == 201, published.text
    time.sleep(1.0)  # then every worker must serve version 2, well before any poll would reload
    numbers = [fresh("GET", f"{server.url}/api/policy/current").json()["number"] for server in (b, a) * 8]
    assert numbers == [2] * len(numbers)

    # One purge for the scheduled slot, however many of the four workers' schedulers tried.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = db.run(lambda s: s.execute(text("SELECT slot, status FROM purge_runs")))
        rows = [tuple(row) for row in runs]
        if rows and all(status != "running" for _, status in rows):
            break
        time.sleep(0.3)
    assert rows == [(slot, "succeeded")]

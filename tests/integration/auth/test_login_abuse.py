"""Sign-in that cannot be abused: atomic counting, no lock-out button, no login CSRF, no cross-site exports."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from governance.app import create_app
from tests.conftest import PASSWORD, as_peer, base_settings, login

PROXY = "10.0.0.1"
WRONG = "guess-guess-guess"


def behind_proxy(app: Litestar) -> Litestar:
    """Every request arrives from the trusted proxy, which names the client in X-Forwarded-For."""
    return as_peer(app, PROXY)


@pytest.fixture
def proxied(db, tmp_path):
    app = behind_proxy(create_app(base_settings(db.url, trusted_proxies=("10.0.0.0/8",), spool_dir=str(tmp_path))))
    with TestClient(app, base_url="http://testserver.local") as client:
        yield client


def attempt(client: TestClient, user: dict, password: str, client_address: str) -> int:
    body = {"email": user["email"], "password": password}
    return client.post("/auth/login", json=body, headers={"X-Forwarded-For": client_address}).status_code


def test_concurrent_guesses_are_counted_before_any_is_checked(db, tmp_path):
    """18 guesses at once from one client: no more than the limit (5) reach the password check."""
    user = db.create_user("auditor")
    app = create_app(base_settings(db.url, spool_dir=str(tmp_path)))

    async def guess_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            body = {"email": user["email"], "password": WRONG}
            responses = await asyncio.gather(*(c.post("/auth/login", json=body) for _ in range(18)))
            return [r.status_code for r in responses]

    statuses = asyncio.run(guess_at_once())

    # Never more than 5; fewer when attempts still in flight are counted by each other (they get a 429).
    assert 1 <= statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 18, statuses


def test_a_strangers_guesses_do_not_lock_the_user_out_of_their_own_client(proxied, db):
    user = db.create_user("privacy_staff")

    stranger = [attempt(proxied, user, WRONG, "198.51.100.66") for _ in range(6)]
    owner = attempt(proxied, user, PASSWORD, "203.0.113.7")

    assert stranger == [401] * 5 + [429]  # the stranger's client is locked out of this account
    assert owner == 200  # the real user, on their own client, signs in
    assert attempt(proxied, user, PASSWORD, "198.51.100.66") == 429  # even the right password, from there


def test_guesses_from_many_clients_hit_the_account_wide_limit(db, tmp_path):
    settings = base_settings(
        db.url, trusted_proxies=("10.0.0.0/8",), login_account_max_failures=8, spool_dir=str(tmp_path)
    )
    user = db.create_user("auditor")
    with TestClient(behind_proxy(create_app(settings)), base_url="http://testserver.local") as client:
        spread = [attempt(client, user, WRONG, f"198.51.100.{n}") for n in range(1, 10)]
        fresh_client = attempt(client, user, PASSWORD, "203.0.113.9")

    assert spread == [401] * 8 + [429]  # 4 guesses from 2 clients each would have been allowed per client
    assert fresh_client == 429  # a botnet cannot guess on without bound


def test_a_refused_attempt_is_not_counted(proxied, db):
    """Hammering a locked client must not push the account towards the account-wide limit."""
    user = db.create_user("auditor")
    for _ in range(30):
        attempt(proxied, user, WRONG, "198.51.100.66")

    assert attempt(proxied, user, PASSWORD, "203.0.113.7") == 200


def test_the_login_rate_limit_is_per_client_behind_a_proxy(proxied, db):
    firsts = [attempt(proxied, {"email": f"u{n}@example.test"}, WRONG, "198.51.100.1") for n in range(31)]
    other_client = attempt(proxied, {"email": "someone@example.test"}, WRONG, "198.51.100.2")

    assert firsts[-1] == 429 and other_client == 401  # not one allowance shared by everyone behind the proxy


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_login_takes_json_only(client, db, content_type):
    user = db.create_user("auditor")
    body = f'{{"email": "{user["email"]}", "password": "{PASSWORD}"}}'
    headers = {"Content-Type": content_type} if content_type else {}

    response = client.post("/auth/login", content=body, headers=headers)

    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    assert "set-cookie" not in response.headers
    assert client.post("/auth/login", content=body, headers={"Content-Type": "application/json"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Origin": "http://testserver.local.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain
    ],
)
def test_other_sites_cannot_sign_a_browser_in_or_out(client, db, headers):
    user = db.create_user("auditor")
    body = {"email": user["email"], "password": PASSWORD}

    refused = client.post("/auth/login", json=body, headers=headers)
    csrf = login(client, user)
    logout = client.post("/auth/logout", headers={**csrf, **headers})

    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert logout.status_code == 403 and client.get("/auth/me").status_code == 200  # still signed in


def test_this_service_and_the_dashboard_may_sign_in(db, tmp_path):
    dashboard = "https://app.mailssetu.in"
    settings = base_settings(db.url, cors_origins=(dashboard,), spool_dir=str(tmp_path))
    user = db.create_user("auditor")
    body = {"email": user["email"], "password": PASSWORD}
    with TestClient(create_app(settings), base_url="http://testserver.local") as client:
        from_here = client.post("/auth/login", json=body, headers={"Origin": "http://testserver.local"})
        from_dashboard = client.post("/auth/login", json=body, headers={"Origin": dashboard})
        from_a_tool = client.post("/auth/login", json=body)  # curl, the pipeline: no Origin, no Sec-Fetch-Site
        behind_a_proxy = client.post(  # a proxy that rewrites Host: the public URL (MS_PUBLIC_BASE_URL) counts
            "/auth/login", json=body, headers={"Origin": "http://testserver.local", "Host": "app-internal:8000"}
        )

    assert (from_here.status_code, from_dashboard.status_code, from_a_tool.status_code) == (200, 200, 200)
    assert behind_a_proxy.status_code == 200


AUDITED_EXPORTS = [
    "/api/inventory?format=csv",
    "/api/violations?format=csv",
    "/api/audit?format=csv",
    "/api/evidence",
]


@pytest.mark.parametrize("path", AUDITED_EXPORTS)
def test_an_export_that_writes_the_audit_log_refuses_another_site(client, login_as, path):
    login_as("auditor")
    before = client.get("/api/audit").json()["total"]

    refused = client.get(path, headers={"Sec-Fetch-Site": "cross-site"})
    after_refusal = client.get("/api/audit").json()["total"]
    allowed = client.get(path, headers={"Sec-Fetch-Site": "same-origin"})

    assert refused.status_code == 403 and after_refusal == before  # nothing ran, nothing was logged
    assert allowed.status_code == 200 and client.get("/api/audit").json()["total"] > before


def test_no_cross_site_get_writes_the_audit_log(app, client, login_as):
    """The whole class: every GET route without path parameters, JSON and CSV, cross-site, as an admin."""
    login_as("admin", "privacy_staff")
    paths = sorted(
        route.path
        for route in app.routes
        if "GET" in getattr(route, "methods", ()) and "{" not in route.path and route.path.startswith("/api/")
    )
    before = client.get("/api/audit").json()["total"]
    for path in paths:
        for query in ("", "?format=csv"):
            client.get(path + query, headers={"Sec-Fetch-Site": "cross-site"})

    assert len(paths) > 15 and client.get("/api/audit").json()["total"] == before

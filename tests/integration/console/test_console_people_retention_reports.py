"""People (admins), Retention (privacy staff edit, auditors read) and Reports (readers): every action
CSRF-checked, auditors see no control, members get the 403 page."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.conftest import PASSWORD, Database
from tests.integration.retention.seed import count, period, seed
from tests.integration.retention.test_api import held_purge  # noqa: F401  (the fixture, reused)

Login = Callable[..., dict[str, str]]
HTMX_NO_CSRF = {"HX-Request": "true"}


def actions(db: Database) -> list[str]:
    return [str(a) for a in db.run(lambda s: s.scalars(_actions()))]


def _actions():  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from governance.core.audit import AuditEntry

    return select(AuditEntry.action).order_by(AuditEntry.id)


def forms_of(html: str) -> list[str]:
    return [f.attributes.get("hx-post") or "" for f in HTMLParser(html).css("main form[hx-post]")]


# --- People -------------------------------------------------------------------------------------


def test_admins_create_change_reset_unlock_and_disable_people(client: TestClient, console_as: Login, db: Database):
    headers = console_as("admin")
    page = client.get("/console/people")
    assert page.status_code == 200 and "/console/people/users" in forms_of(page.text)

    created = client.post(
        "/console/people/users",
        data={"email": "ana@example.test", "password": PASSWORD, "roles": ["privacy_staff"]},
        headers=headers,
    )
    assert created.status_code == 200 and created.headers["hx-redirect"] == "/console/people"
    user_id = str(db.run(lambda s: _user_id(s, "ana@example.test")))

    posts = [
        (f"/console/people/users/{user_id}/roles", {"roles": ["privacy_staff", "auditor"]}),
        (f"/console/people/users/{user_id}/password", {"password": "a new passphrase!"}),
        (f"/console/people/users/{user_id}/unlock", {}),
        (f"/console/people/users/{user_id}/active", {"active": "false"}),
    ]
    for path, data in posts:
        assert client.post(path, data=data, headers=headers).status_code == 200, path
    listed = HTMLParser(client.get("/console/people").text).css_first("main").text()
    assert "auditor, privacy_staff" in listed and "disabled" in listed
    people = [a for a in actions(db) if a.startswith("user.")]
    assert people == ["user.create", "user.roles", "user.password_reset", "user.unlock", "user.disable"]


async def _user_id(session, email):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from auth.models import User

    return await session.scalar(select(User.id).where(User.email == email))


def test_people_pages_through_every_user(client: TestClient, console_as: Login, db: Database, monkeypatch):
    from governance.console.pages import people

    monkeypatch.setattr(people, "PAGE", 2)
    console_as("admin")
    for n in range(3):
        db.create_user("auditor", email=f"person{n}@example.test")

    def listed(path: str) -> tuple[list[str], list[str]]:
        page = HTMLParser(client.get(path).text)
        emails = [row.text().strip() for row in page.css("#users ~ .table-wrap tbody th")]
        return emails, [a.attributes["href"] or "" for a in page.css("nav.pager a")]

    first, first_links = listed("/console/people")
    second, second_links = listed(first_links[0])

    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)  # 4 users: 3 and the admin
    assert first_links == ["/console/people?offset=2#users"] and second_links == ["/console/people?offset=0#users"]
    assert client.get("/console/people?offset=-1").status_code == 400


def test_a_refused_person_shows_the_sentence_next_to_the_form(client: TestClient, console_as: Login, db: Database):
    headers = console_as("admin")

    weak = client.post(
        "/console/people/users",
        data={"email": "b@example.test", "password": "short", "roles": ["auditor"]},
        headers=headers,
    )
    email = db.scalar("SELECT email FROM users LIMIT 1")
    me = str(db.run(lambda s: _user_id(s, email)))
    myself = client.post(f"/console/people/users/{me}/active", data={"active": "false"}, headers=headers)

    assert weak.status_code == 422 and "12 characters" in weak.text
    assert myself.status_code == 409 and "disable your own account" in myself.text


def test_an_api_key_is_shown_once_and_revoked(client: TestClient, console_as: Login, db: Database):
    db.create_api_key("acme")
    headers = console_as("admin")
    account_id = str(db.run(_acme_id))

    created = client.post("/console/people/api-keys", data={"account_id": account_id, "name": "ci"}, headers=headers)

    assert created.status_code == 200
    key = HTMLParser(created.text).css_first(".notice code").text()
    assert key.startswith("msk_") and key not in client.get("/console/people").text
    key_id = str(db.run(lambda s: _key_id(s, "ci")))
    assert client.post(f"/console/people/api-keys/{key_id}/revoke", headers=headers).status_code == 200
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert [a for a in actions(db) if a.startswith("api_key.")] == ["api_key.create", "api_key.revoke"]


async def _acme_id(session):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from auth.models import Account

    return await session.scalar(select(Account.id).where(Account.name == "acme"))


async def _key_id(session, name):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from auth.models import ApiKey

    return await session.scalar(select(ApiKey.id).where(ApiKey.name == name))


@pytest.mark.parametrize("role", ["privacy_staff", "auditor"])
def test_people_is_for_admins_only(client: TestClient, console_as: Login, role: str):
    headers = console_as(role)

    assert client.get("/console/people").status_code == 403
    assert "/console/people" not in client.get("/console/").text  # no nav entry either
    refused = client.post(
        "/console/people/users",
        data={"email": "x@example.test", "password": PASSWORD, "roles": ["admin"]},
        headers=headers,
    )
    assert refused.status_code == 403


def test_people_posts_need_the_csrf_header(client: TestClient, console_as: Login, db: Database):
    console_as("admin")

    forged = client.post(
        "/console/people/users",
        data={"email": "x@example.test", "password": PASSWORD, "roles": ["admin"]},
        headers=HTMX_NO_CSRF,
    )

    assert forged.status_code == 403 and db.scalar("SELECT count(*) FROM users") == 1


# --- Retention ------------------------------------------------------------------------------------


def test_privacy_staff_change_periods_and_see_problems_by_the_field(
    client: TestClient, console_as: Login, db: Database
):
    headers = console_as("privacy_staff")

    saved = client.post("/console/retention/", data={"periods.violations": "90"}, headers=headers)
    refused = client.post(
        "/console/retention/", data={"periods.violations": "90", "periods.audit_log": "3"}, headers=headers
    )
    not_a_number = client.post("/console/retention/", data={"periods.login_failures": "soon"}, headers=headers)

    assert saved.status_code == 200 and saved.headers["hx-redirect"] == "/console/retention"
    assert db.scalar("SELECT period_days FROM retention_rules WHERE data_class = 'violations'") == 90
    assert refused.status_code == 422
    field = HTMLParser(refused.text).css_first("#p-audit_log")
    assert field.attributes.get("aria-invalid") == "true" and "cannot be shorter" in refused.text
    assert not_a_number.status_code == 422 and "whole number of days" in not_a_number.text
    restored = client.post("/console/retention/", data={"periods.violations": ""}, headers=headers)
    assert restored.status_code == 200 and db.scalar("SELECT count(*) FROM retention_rules") == 0
    assert actions(db).count("retention.rule") == 2


def test_auditors_read_retention_without_a_control(client: TestClient, console_as: Login):
    headers = console_as("auditor")

    page = client.get("/console/retention")

    assert page.status_code == 200 and "audit_log" in page.text and "Dry run" in page.text
    assert forms_of(page.text) == [] and not HTMLParser(page.text).css("main input")
    assert client.post("/console/retention/purge", headers=headers).status_code == 403
    assert client.post("/console/retention/", data={"periods.violations": "90"}, headers=headers).status_code == 403


def test_purge_now_runs_in_the_background_and_its_progress_polls(client: TestClient, console_as: Login, db: Database):
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, datetime.now(UTC))
    headers = console_as("privacy_staff")
    dry = HTMLParser(client.get("/console/retention").text)
    assert next(r.text() for r in dry.css("#dry-run + .table-wrap tbody tr") if "violations" in r.text()).endswith("1")

    started = client.post("/console/retention/purge", headers=headers)

    assert started.status_code == 200 and started.headers["hx-redirect"].startswith("/console/retention?started=")
    run_id = int(started.headers["hx-redirect"].rsplit("-", 1)[1])
    deadline = time.monotonic() + 30
    while "succeeded" not in (fragment := client.get(f"/console/retention/runs/{run_id}").text):
        assert time.monotonic() < deadline and "failed" not in fragment
        time.sleep(0.05)
    assert "hx-trigger" not in fragment and "violations: 1" in fragment  # finished: the polling stops
    assert count(db, "violations") == 1


def test_purge_now_needs_the_csrf_header(client: TestClient, console_as: Login, db: Database):
    console_as("privacy_staff")

    assert client.post("/console/retention/purge", headers=HTMX_NO_CSRF).status_code == 403
    assert db.scalar("SELECT count(*) FROM purge_runs") == 0


# --- Reports --------------------------------------------------------------------------------------


def test_reports_show_charts_with_titles_and_the_numbers_as_tables(client: TestClient, console_as: Login, db: Database):
    console_as("auditor")

    page = client.get("/console/reports")

    assert page.status_code == 200
    html = HTMLParser(page.text)
    svg = html.css_first("main svg")
    assert (
        svg is not None and svg.attributes.get("role") == "img" and svg.css_first("title").text() == "Sessions per day"
    )
    captions = [c.text() for c in html.css("main caption")]
    assert "Sessions and visitors per UTC day" in captions and "Visitors per country" in captions
    assert len(html.css("#t-daily ~ tbody tr, table:has(#t-daily) tbody tr")) >= 30
    assert not html.css("main form[hx-post]")


def test_a_bad_report_period_is_a_422_naming_the_field(client: TestClient, console_as: Login):
    console_as("privacy_staff")

    page = client.get("/console/reports", params={"since": "2026-11-10T00:00", "until": "2026-11-01T00:00"})

    assert page.status_code == 422


@pytest.mark.parametrize("path", ["/console/people", "/console/retention", "/console/reports"])
def test_members_get_the_403_page(client: TestClient, console_as: Login, path: str):
    console_as("member", account="acme")

    response = client.get(path)

    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")


def test_purge_now_while_one_runs_says_so(
    client: TestClient,
    console_as: Login,
    db: Database,
    held_purge,  # noqa: F811  (the fixture imported above)
) -> None:
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired)
    headers = console_as("privacy_staff")
    first = client.post("/console/retention/purge", headers=headers)
    assert first.status_code == 200

    second = client.post("/console/retention/purge", headers=headers)

    assert second.status_code == 409 and "already running" in second.text
    running = client.get("/console/retention").text
    assert 'hx-trigger="every 1s"' in running  # the running run's row polls
    held_purge.set()

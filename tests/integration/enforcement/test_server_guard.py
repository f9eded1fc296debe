"""The Set-Cookie guard over the whole app: handlers, errors, middleware; enforce and report."""

from tests.integration.enforcement.conftest import recorded, set_cookie_names


def test_enforce_strips_an_undeclared_cookie_and_records_it(guarded, db):
    client = guarded()

    response = client.get("/test/undeclared", headers={"User-Agent": "pytest-agent"})

    assert response.status_code == 200 and set_cookie_names(response) == ["ms_access"]
    [violation] = recorded(client, db)
    assert (violation.source, violation.kind, violation.name, violation.reason, violation.mode) == (
        "server", "cookie", "evil", "undeclared", "enforce",
    )  # fmt: skip
    assert violation.page == "/test/undeclared" and violation.user_agent == "pytest-agent"
    assert violation.policy_version == 1


def test_enforce_strips_a_declared_cookie_missing_httponly(guarded, db):
    client = guarded()

    assert set_cookie_names(client.get("/test/no-httponly")) == []
    assert [(v.name, v.reason) for v in recorded(client, db)] == [("ms_access", "http_only")]


def test_enforce_strips_a_cookie_declared_for_30_days_set_for_90(guarded, db):
    client = guarded()

    assert set_cookie_names(client.get("/test/too-long")) == []
    [violation] = recorded(client, db)
    assert violation.reason == "duration" and "2592000" in violation.detail


def test_report_mode_passes_both_and_records_them(guarded, db):
    client = guarded(cookie_guard_mode="report")

    assert set_cookie_names(client.get("/test/no-httponly")) == ["ms_access"]
    assert set_cookie_names(client.get("/test/too-long")) == ["ms_access"]
    assert sorted((v.reason, v.mode) for v in recorded(client, db)) == [("duration", "report"), ("http_only", "report")]


def test_deletions_of_declared_cookies_pass_whatever_their_attributes(guarded, db):
    client = guarded()

    assert set_cookie_names(client.get("/test/deletion")) == ["ms_access"]
    assert recorded(client, db) == []


def test_cookies_on_error_responses_are_guarded(guarded, db):
    client = guarded()

    response = client.get("/test/error")

    assert response.status_code == 418 and set_cookie_names(response) == []
    assert [v.name for v in recorded(client, db)] == ["evil_on_error"]


def test_cookies_added_by_middleware_are_guarded(guarded, db):
    client = guarded()

    assert set_cookie_names(client.get("/test/middleware")) == []
    assert [v.name for v in recorded(client, db)] == ["evil_from_middleware"]


def test_off_mode_neither_strips_nor_records(guarded, db):
    client = guarded(cookie_guard_mode="off")

    assert set_cookie_names(client.get("/test/undeclared")) == ["ms_access", "evil"]
    assert recorded(client, db) == []


def test_repeats_within_the_hour_are_one_row_with_a_count(guarded, db):
    client = guarded()

    for _ in range(3):
        client.get("/test/undeclared")

    [violation] = recorded(client, db)
    assert violation.count == 3


def test_violations_queued_at_shutdown_are_written(db):
    from litestar.testing import TestClient

    from governance.enforcement import service
    from tests.integration.enforcement.conftest import app_with_test_routes

    with TestClient(app_with_test_routes(db), base_url="http://testserver.local") as client:
        client.get("/test/undeclared")

    assert [v.name for v in db.run(service.list_violations)] == ["evil"]

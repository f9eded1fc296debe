"""The dashboard on another origin may call the API with credentials; other origins may not."""

from litestar.testing import TestClient

from governance.app import create_app
from tests.conftest import base_settings

DASHBOARD = "https://app.mailssetu.in"


def preflight(client, origin):
    return client.options(
        "/auth/me",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token",
        },
    )


def test_the_configured_dashboard_origin_may_send_credentials_and_the_csrf_header(db):
    with TestClient(create_app(base_settings(db.url, cors_origins=(DASHBOARD,)))) as client:
        response = preflight(client, DASHBOARD)

    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in response.headers["access-control-allow-headers"].lower()


def test_other_origins_get_no_cors_grant(db):
    with TestClient(create_app(base_settings(db.url, cors_origins=(DASHBOARD,)))) as client:
        refused = preflight(client, "https://evil.example")
        granted = preflight(client, DASHBOARD)  # the positive control: the same app does grant its dashboard

    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-credentials" not in refused.headers
    assert granted.headers["access-control-allow-origin"] == DASHBOARD


def test_without_configured_origins_no_cross_origin_access_is_granted(client):
    assert "access-control-allow-origin" not in preflight(client, DASHBOARD).headers

"""The pixel and the tracked links, as recipients' mail clients fetch them."""

import logging

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from sqlalchemy import func, select

from governance.app import create_app
from tests.conftest import base_settings
from tests.integration.tracking.conftest import bearer, flush, tokens_in
from tracking import events
from tracking.models import TrackingEvent
from tracking.public_routes import PIXEL_GIF
from tracking.tokens import TokenSigner

NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"


def event_count(db) -> int:
    return db.run(lambda s: s.scalar(select(func.count()).select_from(TrackingEvent)))


@pytest.fixture
def sent(domain, send):
    domain(track_opens=True, track_clicks=True)
    body = send()
    return {"id": body["id"], "open": tokens_in(body["html"], "o")[0], "click": tokens_in(body["html"], "c")[0]}


def assert_is_the_pixel(response):
    assert response.status_code == 200
    assert response.content == PIXEL_GIF and len(response.content) == 43
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == NO_STORE
    assert response.headers["x-robots-tag"] == "noindex"
    assert "set-cookie" not in response.headers


def test_the_pixel_is_a_43_byte_gif_that_is_never_cached_and_the_open_is_recorded(client, db, sent):
    response = client.get(f"/t/o/{sent['open']}.gif")

    assert_is_the_pixel(response)
    flush(client)
    assert event_count(db) == 1


@pytest.mark.parametrize("path", ["/t/o/garbage.gif", "/t/o/x", "/t/o/.gif", "/t/o/" + "A" * 300 + ".gif"])
def test_a_bad_pixel_token_still_gets_the_gif_and_records_nothing(client, db, sent, path):
    assert_is_the_pixel(client.get(path))
    flush(client)
    assert event_count(db) == 0
    client.get(f"/t/o/{sent['open']}.gif")  # the positive control: the good token is recorded
    flush(client)
    assert event_count(db) == 1


def test_a_click_token_in_the_pixel_route_records_nothing(client, db, sent):
    assert_is_the_pixel(client.get(f"/t/o/{sent['click']}.gif"))
    flush(client)
    assert event_count(db) == 0
    client.get(f"/t/c/{sent['click']}", follow_redirects=False)  # in its own route, the token is recorded
    flush(client)
    assert event_count(db) == 1


def test_a_click_redirects_to_the_signed_destination_and_is_recorded(client, db, sent):
    response = client.get(f"/t/c/{sent['click']}", follow_redirects=False)

    assert response.status_code == 302
    assert response.headers["location"] == "https://shop.example/sale?a=1&b=2"
    assert response.headers["cache-control"] == NO_STORE
    flush(client)
    assert event_count(db) == 1


def tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


@pytest.mark.parametrize("mangle", [tampered, lambda t: t[:-3], lambda t: t[:10], lambda t: t + "AA", lambda t: "x"])
def test_a_tampered_or_truncated_link_is_a_404_page_never_a_redirect(client, db, sent, mangle):
    response = client.get(f"/t/c/{mangle(sent['click'])}", follow_redirects=False)

    assert response.status_code == 404
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"] and "not valid" in response.text
    flush(client)
    assert event_count(db) == 0


@pytest.mark.parametrize(
    "destination",
    ["https://evil.example/phish", "javascript:alert(1)", "//evil.example", "data:text/html,<script>alert(1)</script>"],
)
def test_a_token_signed_with_a_foreign_key_cannot_redirect_anywhere(client, sent, destination):
    foreign = TokenSigner((("k2", b"somebody-elses-secret-" + b"e" * 32),)).sign_click(sent["id"], 0, destination)

    response = client.get(f"/t/c/{foreign}", follow_redirects=False)

    assert response.status_code == 404 and "location" not in response.headers


@pytest.mark.parametrize("destination", ["javascript:alert(1)", "//evil.example/x", "ftp://files.example/x"])
def test_even_a_validly_signed_non_http_destination_is_never_redirected_to(client, settings, sent, destination):
    token = TokenSigner(settings.token_keys).sign_click(sent["id"], 0, destination)

    response = client.get(f"/t/c/{token}", follow_redirects=False)

    assert response.status_code == 404 and "location" not in response.headers


def test_open_redirect_attempts_through_the_path_or_query_are_404s(client, sent):
    for path in (
        "/t/c/https%3A%2F%2Fevil.example",
        f"/t/c/{sent['click']}%2F..%2F..%2Fevil",
        "/t/c/?url=https://evil.example",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404 and "evil" not in response.headers.get("location", "")


def test_head_requests_are_answered_and_not_recorded(client, db, sent):
    pixel = client.head(f"/t/o/{sent['open']}.gif")
    link = client.head(f"/t/c/{sent['click']}", follow_redirects=False)
    bad = client.head("/t/c/nonsense", follow_redirects=False)

    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif" and pixel.content == b""
    assert link.status_code == 302 and link.headers["location"] == "https://shop.example/sale?a=1&b=2"
    assert bad.status_code == 404
    flush(client)
    assert event_count(db) == 0
    client.get(f"/t/o/{sent['open']}.gif")  # the positive control: a GET of the same pixel is recorded
    flush(client)
    assert event_count(db) == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_are_a_405_naming_get_and_head_and_record_nothing(client, db, sent, method):
    for path in (f"/t/o/{sent['open']}.gif", f"/t/c/{sent['click']}"):
        response = client.request(method, path, follow_redirects=False)

        assert response.status_code == 405, path
        assert response.headers["allow"] == "GET, HEAD"
        assert response.headers["content-type"].startswith("application/problem+json")
    flush(client)
    assert event_count(db) == 0


def test_a_websocket_to_the_tracking_routes_is_refused_and_records_nothing(client, db, sent):
    for path in (f"/t/o/{sent['open']}.gif", f"/t/c/{sent['click']}"):
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(path):
            pass
    flush(client)
    assert event_count(db) == 0
    client.get(f"/t/o/{sent['open']}.gif")  # the positive control
    flush(client)
    assert event_count(db) == 1


def test_a_trailing_slash_is_the_same_route_and_extra_segments_are_not_a_token(client, db, sent):
    assert client.get(f"/t/c/{sent['click']}/", follow_redirects=False).status_code == 302
    assert_is_the_pixel(client.get(f"/t/o/{sent['open']}.gif/"))
    assert client.get(f"/t/c/{sent['click']}/more", follow_redirects=False).status_code == 404
    assert client.get(f"/t/c/more/{sent['click']}", follow_redirects=False).status_code == 404
    assert client.get("/t/c", follow_redirects=False).status_code == 404
    assert_is_the_pixel(client.get(f"/t/o/more/{sent['open']}.gif"))  # a GIF, never a broken image
    assert_is_the_pixel(client.get("/t/o"))
    for elsewhere in ("/t/oops", "/t/o.gif", "/t/code/x", "/t/cx"):  # beside the routes, not under them
        response = client.get(elsewhere, follow_redirects=False)
        assert response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")
        assert client.head(elsewhere, follow_redirects=False).status_code == 404
    flush(client)
    assert event_count(db) == 2  # the two with a trailing slash


def test_the_tracking_routes_are_not_in_the_request_log(client, api_key, sent):
    logger, lines = logging.getLogger("litestar"), []  # the request log's logger
    collect = logging.Handler()
    collect.emit = lambda record: lines.append(record.getMessage())
    level = logger.level
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    try:
        client.get(f"/t/o/{sent['open']}.gif")
        client.get(f"/t/c/{sent['click']}", follow_redirects=False)
        client.get("/api/emails", headers=bearer(api_key))  # the positive control: an API route is logged
    finally:
        logger.removeHandler(collect)
        logger.setLevel(level)

    assert any("/api/emails" in line for line in lines)
    assert not any("/t/" in line or sent["open"] in line or sent["click"] in line for line in lines)


def test_a_destination_with_non_ascii_characters_is_percent_encoded_in_the_location(client, settings, sent):
    token = TokenSigner(settings.token_keys).sign_click(sent["id"], 0, "https://shop.example/café?q=ü ü")

    response = client.get(f"/t/c/{token}", follow_redirects=False)

    assert response.headers["location"] == "https://shop.example/caf%C3%A9?q=%C3%BC%20%C3%BC"


def test_links_keep_redirecting_after_the_signing_key_rotates(db, sent):
    rotated = base_settings(
        db.url, token_keys=(("k3", b"test-token-key-three-" + b"w" * 32), *base_settings(db.url).token_keys)
    )

    with TestClient(create_app(rotated), base_url="http://testserver.local") as client:
        response = client.get(f"/t/c/{sent['click']}", follow_redirects=False)
        client.get(f"/t/o/{sent['open']}.gif")
        flush(client)

    assert response.status_code == 302
    assert event_count(db) == 2


def test_links_stop_working_once_their_key_is_retired(db, sent):
    retired = base_settings(db.url, token_keys=(("k3", b"test-token-key-three-" + b"w" * 32),))

    with TestClient(create_app(retired), base_url="http://testserver.local") as client:
        response = client.get(f"/t/c/{sent['click']}", follow_redirects=False)

    assert response.status_code == 404


def test_links_keep_redirecting_after_events_and_link_data_are_purged(client, db, sent):
    client.get(f"/t/c/{sent['click']}", follow_redirects=False)
    flush(client)
    far_future = __import__("datetime").datetime(2999, 1, 1, tzinfo=__import__("datetime").timezone.utc)

    purged = db.run(lambda s: events.purge_events_before(s, far_future, 100))
    scrubbed = db.run(lambda s: events.purge_email_records_before(s, far_future, 100))
    response = client.get(f"/t/c/{sent['click']}", follow_redirects=False)

    assert (purged, scrubbed) == (1, 1)
    assert response.status_code == 302 and response.headers["location"] == "https://shop.example/sale?a=1&b=2"


def test_the_public_routes_need_no_session_and_set_no_cookie(client, sent):
    assert not client.cookies  # the arrangement used an API key only

    pixel = client.get(f"/t/o/{sent['open']}.gif")
    link = client.get(f"/t/c/{sent['click']}", follow_redirects=False)

    assert pixel.status_code == 200 and link.status_code == 302
    assert "set-cookie" not in pixel.headers and "set-cookie" not in link.headers


def test_events_are_readable_by_the_account(client, api_key, sent):
    client.get(f"/t/o/{sent['open']}.gif", headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"})
    flush(client)

    events = client.get(f"/api/emails/{sent['id']}/events", headers=bearer(api_key)).json()["items"]

    assert [(e["kind"], e["client_class"]) for e in events] == [("open", "gmail_proxy")]

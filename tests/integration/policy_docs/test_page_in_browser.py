"""The policy page in headless Chromium: readable on a phone, printable, cookie-free, self-contained.

Uses the browser fixtures of tests/e2e/conftest.py (skipped without Chromium or Playwright).
"""

import pytest

from tests.e2e.conftest import browser, live_server, page, serve_app  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


def test_on_a_phone_the_page_fits_the_screen_and_sets_nothing(live_server, page):  # noqa: F811
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": 360, "height": 740})

    page.goto(live_server.url_for("/cookie-policy"))

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    assert page.locator("text=ms_journey_first_touch").is_visible()
    assert page.context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert all(url.startswith(live_server.url) for url in requested), requested


def test_printing_drops_the_navigation(live_server, page):  # noqa: F811
    page.goto(live_server.url_for("/cookie-policy"))

    page.emulate_media(media="print")

    assert page.evaluate("getComputedStyle(document.querySelector('footer')).display") == "none"
    assert page.locator("h1").inner_text() == "Cookie Policy"

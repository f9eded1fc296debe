"""The privacy-staff job, done in Chromium through the console only.

Sign in, start a draft from the version in force, add a declaration, edit one section (the others
stay), see validation errors and fix them, preview, read the redline, schedule, withdraw, publish
now; then the public page, the allowlist, the inventory and the audit log show it. Every console
page passes axe-core at 375 and 1280 px; no request leaves the app's origin; no console error.
"""

from __future__ import annotations

import re
from datetime import timedelta

from governance.core.clock import utcnow
from tests.conftest import Database
from tests.e2e.conftest import LiveServer, Remote
from tests.e2e.console_browser import Accessibility, sign_in, watch

NAME = "ms_console_theme"
ADDED_TEXT = "We also remember the console theme you chose."


def add_declaration(page: Remote, a11y: Accessibility | None = None) -> None:
    """Fill the editor's empty last row; first with a bad seconds value and no purpose, then fixed."""
    row = page.locator("tr.new-row")
    index = row.locator("input[name$='-name']").get_attribute("name").split("-")[1]
    category = page.locator("input[name='d-0-category']").input_value()
    page.fill(f"[name='d-{index}-name']", NAME)
    page.fill(f"[name='d-{index}-category']", category)
    page.fill(f"[name='d-{index}-duration.text']", "1 year")
    page.fill(f"[name='d-{index}-duration.seconds']", "one year")
    page.select_option(f"[name='d-{index}-http_only']", "no")
    page.select_option(f"[name='d-{index}-secure']", "yes")
    page.select_option(f"[name='d-{index}-same_site']", "lax")
    page.click("text=Save declarations")
    seconds = page.locator(f"#f-declarations-{index}-duration-seconds")
    seconds.wait_for()
    page.wait_for_selector(f"#f-declarations-{index}-duration-seconds-errors")  # next to the field, nothing saved
    assert seconds.get_attribute("aria-invalid") == "true"
    if a11y:
        a11y.check(page)
    seconds.fill("31536000")
    page.click("text=Save declarations")
    page.wait_for_url(re.compile(r".*\?saved=declarations.*"))
    purpose = page.locator(f"#f-declarations-{index}-purpose")  # a rule of the draft: the purpose is empty
    assert purpose.get_attribute("aria-invalid") == "true"
    assert (
        "no purpose" in page.locator(f"#f-declarations-{index}-purpose-errors").inner_text()
        or page.locator(f"#f-declarations-{index}-purpose-errors").count()
    )
    purpose.fill("Remembers the console theme.")
    page.click("text=Save declarations")
    page.locator(f"#f-declarations-{index}-purpose:not([aria-invalid])").wait_for()


def test_privacy_staff_do_the_whole_job_in_the_console(db: Database, live_server: LiveServer, page: Remote) -> None:
    watcher = watch(page, live_server)
    watcher.expected_statuses = {422}  # the editor's refused saves, swapped in by htmx
    a11y = Accessibility()
    page.goto(live_server.url_for("/console/sign-in"))
    a11y.check(page)
    sign_in(page, live_server, db.create_user("privacy_staff"))
    a11y.check(page)

    # start a draft from the version in force
    page.click("nav[aria-label=Console] >> text=Policy")
    page.wait_for_url(re.compile(r".*/console/policy$"))
    a11y.check(page)
    assert "(in force)" in page.locator("#based_on option:checked").inner_text()
    page.click("button:has-text('Start a draft')")
    page.wait_for_url(re.compile(r".*/console/policy/drafts/[0-9a-f-]+$"))
    draft_url = page.url
    a11y.check(page)
    sections_before = page.eval_on_selector_all("fieldset[id^=section-]", "els => els.map(e => e.id)")

    add_declaration(page, a11y)

    # edit one section, with the live preview; the others stay
    section = page.locator("fieldset[id^=section-]").first
    body = section.locator("textarea")
    body.press("End")
    body.press("Control+End")
    body.type(f"\n\n{ADDED_TEXT}", delay=5)
    section.locator(".preview").get_by_text(ADDED_TEXT).wait_for()  # rendered by the server, as the page will be
    others_before = [page.locator(f"#{s} textarea").input_value() for s in sections_before[1:]]
    section.locator("text=Save this section").click()
    page.wait_for_url(re.compile(r".*\?saved=section-.*"))
    assert page.eval_on_selector_all("fieldset[id^=section-]", "els => els.map(e => e.id)") == sections_before
    assert [page.locator(f"#{s} textarea").input_value() for s in sections_before[1:]] == others_before

    # summary, validate
    page.fill("#f-change-summary", "Declares the console theme cookie")
    page.check("#f-material")
    page.click("text=Save summary")
    page.wait_for_url(re.compile(r".*\?saved=details.*"))
    page.click("button:has-text('Validate')")
    page.get_by_text("No problems: this draft can be published.").wait_for()

    # preview: the public page as it would render
    page.click("text=Preview")
    page.wait_for_url(re.compile(r".*/preview$"))
    assert "Preview of a draft" in page.inner_text("body")
    assert NAME in page.inner_text("body") and ADDED_TEXT in page.inner_text("body")
    page.goto(draft_url)

    # the redline
    page.click("nav[aria-label=Draft] >> text=Changes")
    page.wait_for_url(re.compile(r".*/changes$"))
    a11y.check(page)
    assert ADDED_TEXT.split()[0] in " ".join(page.locator(".redline-text ins").all_inner_texts())
    assert NAME in page.inner_text("main")
    page.goto(draft_url)

    # schedule it
    at = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    page.check("#when-at")
    page.fill("#f-effective-from", at.strftime("%Y-%m-%dT%H:%M"))
    page.click("text=Review and publish")
    page.wait_for_url(re.compile(r".*/publish\?.*"))
    a11y.check(page)
    assert "scheduled; it can be withdrawn until then" in page.inner_text("main")
    assert at.strftime("%Y-%m-%d %H:%M UTC") in page.inner_text("main")
    page.click("button:has-text('Schedule for')")
    page.wait_for_url(re.compile(r".*/console/policy/versions/2\?published=1$"))
    assert "published and scheduled" in page.inner_text("main")
    a11y.check(page)

    # withdraw it
    page.fill("#reason", "scheduled by mistake")
    page.click("text=Withdraw version 2")
    page.wait_for_url(re.compile(r".*/versions/2\?withdrawn=1$"))
    assert "Withdrawn" in page.inner_text("main")

    # publish now, from a new draft
    page.goto(live_server.url_for("/console/policy"))
    page.click("button:has-text('Start a draft')")
    page.wait_for_url(re.compile(r".*/console/policy/drafts/[0-9a-f-]+$"))
    add_declaration(page)
    page.fill("#f-change-summary", "Declares the console theme cookie")
    page.click("text=Save summary")
    page.wait_for_url(re.compile(r".*\?saved=details.*"))
    page.click("text=Review and publish")
    assert "now" in page.inner_text("#h-what + p")
    page.click("button:has-text('Publish now')")
    page.wait_for_url(re.compile(r".*/console/policy/versions/3\?published=1$"))
    assert "published and in force" in page.inner_text("main")

    # everyone sees it
    page.goto(live_server.url_for("/cookie-policy"))
    assert NAME in page.inner_text("body")
    assert NAME in page.goto(live_server.url_for("/governance/allowlist.json")).text()
    page.goto(live_server.url_for("/console/inventory"))
    a11y.check(page)
    assert NAME in page.inner_text("tbody")
    page.goto(live_server.url_for("/console/audit"))
    a11y.check(page)
    log = page.inner_text("tbody")
    assert "policy.publish" in log and "policy.withdraw" in log and "scheduled by mistake" in log
    page.goto(live_server.url_for("/console/drift"))
    a11y.check(page)
    page.goto(live_server.url_for("/console/"))
    assert "Version 3" in page.inner_text("#h-in-force + p")
    a11y.check(page)
    watcher.assert_clean()

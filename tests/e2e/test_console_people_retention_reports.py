"""People, Retention and Reports in Chromium: axe-clean at 375 and 1280 px, nothing from another
origin, no console error; an admin manages people and keys, privacy staff purge with live progress,
an auditor reads Retention and Reports without a control."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.conftest import PASSWORD, Database
from tests.e2e.conftest import LiveServer, Remote
from tests.e2e.console_browser import Accessibility, sign_in, watch
from tests.integration.retention.seed import count, period, seed


def test_an_admin_manages_people_and_api_keys(db: Database, live_server: LiveServer, page: Remote) -> None:
    db.create_user("member", account="acme")
    watcher = watch(page, live_server)
    a11y = Accessibility()
    sign_in(page, live_server, db.create_user("admin"))

    page.goto(live_server.url_for("/console/people"))
    a11y.check(page)
    page.fill("#email", "ana@example.test")
    page.fill("#new-password", PASSWORD)
    page.check("form[hx-post$='/people/users'] input[value=privacy_staff]")
    page.click("text=Create user")
    page.wait_for_selector("th:has-text('ana@example.test')")

    page.fill("#key-name", "pipeline")
    page.click("text=Create key")
    page.wait_for_selector(".notice code")
    key = page.inner_text(".notice code")
    assert key.startswith("msk_")
    a11y.check(page)
    page.goto(live_server.url_for("/console/people"))
    assert key not in page.content()  # shown once
    page.click("button:has-text('Revoke')")
    page.wait_for_selector("button:has-text('Revoke')", state="detached")  # the row shows it revoked
    assert db.scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL") == 1
    watcher.assert_clean()


def test_privacy_staff_purge_now_and_watch_it_finish(db: Database, live_server: LiveServer, page: Remote) -> None:
    expired = datetime.now(UTC) - period("violations") - timedelta(days=1)
    seed(db, "violations", expired, datetime.now(UTC))
    watcher = watch(page, live_server)
    a11y = Accessibility()
    sign_in(page, live_server, db.create_user("privacy_staff"))

    page.goto(live_server.url_for("/console/retention"))
    a11y.check(page)
    page.click("button:has-text('Purge now')")
    page.wait_for_selector(".notice:has-text('started')")
    assert re.search(r"/console/retention\?started=\d+#run-\d+$", page.url)
    page.wait_for_selector("[id$='-progress'] strong:has-text('succeeded')", timeout=30_000)
    assert "violations: 1" in page.inner_text("[id$='-progress']")
    assert count(db, "violations") == 1
    a11y.check(page)
    page.goto(live_server.url_for("/console/reports"))
    a11y.check(page)
    watcher.assert_clean()


def test_an_auditor_reads_retention_and_reports_without_a_control(
    db: Database, live_server: LiveServer, page: Remote
) -> None:
    watcher = watch(page, live_server)
    a11y = Accessibility()
    sign_in(page, live_server, db.create_user("auditor"))

    for path, text in [("/console/retention", "Dry run"), ("/console/reports", "Sessions per day")]:
        response = page.goto(live_server.url_for(path))
        assert response.status == 200 and text in page.inner_text("main"), path
        controls = page.eval_on_selector_all(
            "main [hx-post], main input[type=number], main button", "els => els.map(e => e.outerHTML.slice(0, 120))"
        )
        assert controls == [] or all("Show" in c for c in controls), (path, controls)
        assert page.locator("main svg title").count() >= 1 or path.endswith("retention")
        a11y.check(page)
    assert "People" not in page.inner_text("nav")
    watcher.assert_clean()

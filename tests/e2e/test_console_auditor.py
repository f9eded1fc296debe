"""An auditor in Chromium: every console page readable, no mutating control shown, a forged POST refused.

Every page passes axe-core at 375 and 1280 px; no request leaves the app's origin; no console error.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from governance.core.clock import utcnow
from governance.enforcement import drift
from policy_docs import service as policy
from policy_docs.schemas import DraftCreate, PublishRequest
from tests.conftest import Database
from tests.e2e.conftest import LiveServer, Remote
from tests.e2e.console_browser import Accessibility, sign_in, watch


async def arrange(session: AsyncSession) -> str:
    """A scheduled version 2, an open draft, and one drift item: something on every page."""
    scheduled = await policy.create_draft(
        session, DraftCreate(change_summary="Scheduled wording"), "staff@example.test"
    )
    await policy.publish(
        session, scheduled.id, PublishRequest(effective_from=utcnow() + timedelta(days=5)), "staff@example.test"
    )
    draft = await policy.create_draft(
        session, DraftCreate(based_on=1, change_summary="Open draft"), "staff@example.test"
    )
    sighting = drift.DriftSighting(
        kind="cookie", name="_ga", reason="undeclared", source="server", seen_at=utcnow(), page="/"
    )
    await drift.observe(session, [sighting])
    return str(draft.id)


def test_auditor_reads_every_page_and_cannot_change_anything(
    db: Database, live_server: LiveServer, page: Remote
) -> None:
    draft_id = db.run(arrange)
    watcher = watch(page, live_server)
    a11y = Accessibility()
    sign_in(page, live_server, db.create_user("auditor"))
    pages = [
        ("/console/", "Cookie policy at a glance"),
        ("/console/policy", "Version history"),
        ("/console/policy/versions/1", "Version 1"),
        ("/console/policy/versions/2", "Version 2"),
        (f"/console/policy/drafts/{draft_id}", "Draft based on version 1"),
        (f"/console/policy/drafts/{draft_id}/changes", "What the draft changes"),
        (f"/console/policy/drafts/{draft_id}/publish", "Publish the draft"),
        ("/console/drift", "_ga"),
        ("/console/inventory", "Inventory"),
        ("/console/audit", "Audit log"),
    ]
    for path, text in pages:
        response = page.goto(live_server.url_for(path))
        assert response.status == 200, path
        assert text in page.inner_text("main"), path
        assert "read-only" in page.inner_text("header")
        controls = page.eval_on_selector_all(
            "main [hx-post], main form[method=post], main textarea, main button",  # the header has only Sign out
            "els => els.map(e => e.outerHTML.slice(0, 120))",
        )
        assert controls == [] or all("Show" in c or "Filter" in c for c in controls), (path, controls)
        a11y.check(page)
    page.goto(live_server.url_for("/console/policy/versions/2"))  # scheduled: staff would see Withdraw here
    assert page.locator("#reason").count() == 0
    assert page.locator("button:has-text('Withdraw')").count() == 0

    # a forged request with the right CSRF header: the role is what refuses it
    watcher.expected_statuses = {403}
    status = page.evaluate(
        """async (draft) => {
            const csrf = document.cookie.split("; ").find(c => c.startsWith("ms_csrf=")).split("=")[1];
            const forged = [["/console/policy/drafts", "based_on=1"], [`/console/policy/drafts/${draft}/publish`, ""],
                            ["/console/policy/versions/2/withdraw", "reason=x"], ["/console/drift/1/dismiss", "reason=x"]];
            const out = [];
            for (const [url, body] of forged) {
                const r = await fetch(url, {method: "POST", body, headers: {"X-CSRF-Token": csrf, "HX-Request": "true",
                    "Content-Type": "application/x-www-form-urlencoded"}});
                out.push(r.status);
            }
            return out;
        }""",
        draft_id,
    )
    assert status == [403, 403, 403, 403]
    assert db.scalar("SELECT count(*) FROM policy_versions WHERE status = 'draft'") == 1
    assert db.scalar("SELECT status FROM policy_versions WHERE number = 2") == "published"

    # signing out ends the session
    watcher.expected_statuses = set()
    page.goto(live_server.url_for("/console/"))
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/console/sign-in$"))
    page.goto(live_server.url_for("/console/audit"))
    page.wait_for_url(re.compile(r".*/console/sign-in\?next=.*"))
    watcher.assert_clean()

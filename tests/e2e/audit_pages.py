"""The audit's test page set (see audit_site.py for where they are served)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from policy_docs.schemas import PolicySnapshot
from policy_docs.seed import load_seed
from tests.e2e.audit_site import AuditSite

YEAR = 365 * 24 * 3600

# Tries every way of hiding its keys from JavaScript run in the page: the audit must not care.
HIDE_KEYS = """
<script>
  localStorage.setItem("hidden_key", "1");
  sessionStorage.setItem("hidden_session_key", "1");
  Object.defineProperty(Storage.prototype, "length", { get() { return 0; } });
  Storage.prototype.key = function () { return null; };
  const realKeys = Object.keys;
  Object.keys = (o) => (o instanceof Storage ? [] : realKeys(o));
  const fake = { getItem() { return null; }, setItem() {}, removeItem() {}, key() { return null; }, length: 0 };
  try { Object.defineProperty(window, "localStorage", { get() { return fake; } }); } catch (e) {}
  try { Object.defineProperty(window, "sessionStorage", { get() { return fake; } }); } catch (e) {}
</script>"""


def tracked_page(site: AuditSite) -> str:
    """Every kind of storage, in every frame, now and three seconds later, and a vendor."""
    third = site.third
    return f"""<!doctype html><html><head><title>tracked</title>
<script>
  localStorage.setItem("ms_journey_visitor_id", "v-1");       // declared: the positive control
  localStorage.setItem("undeclared_key", "x");
  document.cookie = "dup=1; path=/";                           // one name, two paths: two cookies
  document.cookie = "dup=2; path=/sub";
  indexedDB.open("tracker_db");
  caches.open("tracker_cache");
  navigator.serviceWorker.register("/sw.js");
  setTimeout(() => {{
    localStorage.setItem("late_key", "3s");
    document.cookie = "late_cookie=1; max-age=60; path=/";
  }}, 3000);
  navigator.sendBeacon("http://api-js.mixpanel.com/track/", "data=1");
</script>
<script src="http://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js"></script>
</head><body>
<h1>A page that stores too much</h1>
<iframe src="{third}/frame"></iframe>
<img src="{third}/pixel.gif" alt="">
<a href="/second">next</a> <a href="{third}/elsewhere">another site</a>
</body></html>"""


FRAME = """<!doctype html><script>
  localStorage.setItem("frame_key", "1");
  sessionStorage.setItem("frame_session_key", "1");
  document.cookie = "frame_js=1; SameSite=None; Secure; path=/";
  indexedDB.open("frame_db");
</script>a third-party frame"""

SECOND = """<!doctype html><script>sessionStorage.setItem("crawled_key", "1");</script>
<p>found by crawling</p><a href="/">home</a>"""

GEOLOCATION = """<!doctype html><script>
  const locate = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
  delete Navigator.prototype.geolocation;  // hiding the API from the page itself changes nothing
  locate(() => {}, () => {});
</script><p>asks where you are</p>"""

CLEAN = """<!doctype html><script>
  localStorage.setItem("ms_journey_visitor_id", "v-1");
  localStorage.setItem("ms_journey_first_touch", "{}");
</script><p>nothing but what the policy declares</p>"""


def serve_page_set(site: AuditSite) -> dict[str, str]:
    """Add the page set to `site`; returns name -> URL."""
    site.add("/frame", FRAME, headers=[("Set-Cookie", "frame_header=1; SameSite=None; Secure; Path=/")])
    site.add("/pixel.gif", "GIF89a", content_type="image/gif",
             headers=[("Set-Cookie", f"pixel_id=abc; Max-Age={YEAR}; SameSite=None; Secure; Path=/")])  # fmt: skip
    site.add("/sw.js", "self.addEventListener('fetch', () => {});", content_type="text/javascript")
    site.add("/libs/mixpanel-2-latest.min.js", "window.mixpanelLoaded = true;", content_type="text/javascript")
    site.add("/second", SECOND)
    return {
        "tracked": site.add("/", tracked_page(site), headers=[("Set-Cookie", "server_id=1; Path=/; HttpOnly")]),
        "hiding": site.add("/hiding", HIDE_KEYS),
        "geolocation": site.add("/geolocation", GEOLOCATION),
        "clean": site.add(
            "/clean",
            CLEAN,
            headers=[
                ("Set-Cookie", "ms_csrf=token; Max-Age=2592000; SameSite=Lax; Path=/"),
                ("Set-Cookie", "ms_access=jwt; Max-Age=2592000; HttpOnly; SameSite=Lax; Path=/"),
            ],
        ),
        "readable_session": site.add(
            "/readable-session",
            "<p>ms_access without HttpOnly</p>",
            headers=[
                ("Set-Cookie", "ms_access=jwt; Max-Age=2592000; SameSite=Lax; Path=/"),
            ],
        ),
        "slow": site.add("/slow", "<p>too late</p>", delay_s=4),
    }


def seed_snapshot() -> PolicySnapshot:
    """Version 1 of the policy, from the seed files, as /api/policy/current serves it."""
    seed = load_seed()
    content = seed.content
    return PolicySnapshot(
        document="cookie-policy",
        number=1,
        effective_from=seed.effective_from,
        last_updated=seed.last_updated,
        content_hash="seed",
        published_at=seed.effective_from,
        change_summary=seed.change_summary,
        material=seed.material,
        title=content.title,
        intro=content.intro,
        sections=content.sections,
        declarations=content.declarations,
        not_used=content.not_used,
        contact=content.contact,
    )


def serve_published_policy(site: AuditSite) -> str:
    """Serve the seed policy as a deployment does: /governance/allowlist.json and /api/policy/current.
    Returns the allowlist's URL."""
    snapshot = seed_snapshot()
    allowlist: dict[str, Any] = {"policy_version": 1, "require_secure": False, "cookie": [], "local_storage": [], "session_storage": []}  # fmt: skip
    for d in snapshot.declarations:
        item = {"name": d.name, "match": d.match, "duration": d.duration.kind, "max_age": d.duration.seconds,
                "http_only": d.http_only, "same_site": d.same_site, "path": d.path}  # fmt: skip
        allowlist[d.kind].append({k: v for k, v in item.items() if v is not None})
    site.add("/api/policy/current", msgspec.json.encode(snapshot).decode(), content_type="application/json")
    return site.add("/governance/allowlist.json", json.dumps(allowlist), content_type="application/json")

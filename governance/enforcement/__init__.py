"""Enforcement: only declared cookies and storage keys are ever set.

- `guard.guard_asgi(app, source)` wraps ANY ASGI app with the Set-Cookie guard;
- `guardjs` generates the browser guard (`GET /governance/guard.js`);
- `service` records and lists violations; `audit` checks a live site in headless Chromium.
"""

from governance.enforcement.allowlist import Allowlist, AllowlistSource, static_source
from governance.enforcement.guard import CookieGuard, guard_asgi

__all__ = ["Allowlist", "AllowlistSource", "CookieGuard", "guard_asgi", "static_source"]

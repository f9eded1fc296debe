"""guard.js: the browser half of the guard, generated from the declarations in force.

The source is `static/guard.js` (readable, commented); `render` minifies it once per process
(calmjs.parse: a real ES5 parser, so a syntax error fails here and in the tests, not in a visitor's
browser; it renames local names only, which saves a sixth of the gzipped size over stripping
whitespace, about 0.3 s the first time) and injects the declarations in force, the mode and the
deployment's Secure requirement as one JSON literal. A rendered script is cached per
(declarations, mode, version, require_secure).

What it makes true, for page code running after it (guard.js must be the first script in <head>):

- Web Storage: every write path (`setItem`, `s.x = v`, `s["x"] = v`, `Object.assign`,
  `Reflect.set`, `Object.defineProperty`) of localStorage and sessionStorage, each checked against
  the declarations of its own kind. `window.localStorage`/`sessionStorage` return a Proxy of the
  real Storage whose `set`/`defineProperty` traps check the key; everything else (reads, `in`,
  `Object.keys`, `length`/`key(i)`, `delete`, `clear()`, `instanceof Storage`) reaches the real
  object. Storage.prototype's methods accept the Proxy as `this`; `StorageEvent.storageArea`
  returns it. The real Storage object is never handed to page code.
- Cookies written by script (`document.cookie`, `cookieStore.set`): the string is parsed as the
  browser parses it (RFC 6265bis as Chromium applies it: only SP/HTAB are trimmed, control
  characters void the cookie, the last of each attribute wins, the cookie-date algorithm); a
  deletion passes only when every browser would read it as one. A name declared HttpOnly is never
  set from script; a declared cookie's attributes are checked with the server guard's rules
  (`cookies.mismatches`, including `require_secure`).
- Every same-origin window the page can reach: frames (src, srcdoc, about:blank, sandboxed with
  allow-same-origin, `document.write`), popups from `window.open`, nested ones. Each is protected
  when page code first gets it (contentWindow/contentDocument/getSVGDocument, window.open) or, for
  frames added by the parser or reached as `window[i]`, by a MutationObserver before the next script.
- Tamper resistance: natives are captured at load and called uncurried; the objects the engine
  reads for the guard (proxy handlers, descriptors, report bodies) have no prototype.
- Detection and sweep, for what interception cannot stop: a `storage` or cookieStore `change`
  event (a write from another window) sweeps at once; the storages and `document.cookie` are also
  swept on load, on visibilitychange/pagehide and every 5 s. An undeclared item is reported in
  both modes and removed in enforce mode.
- `navigator.geolocation.getCurrentPosition/watchPosition` are reported (kind "api", name
  "geolocation", reason "promised_absent"), refused in enforce mode: the policy promises no
  geolocation prompts.
- Reports (kind, name, reason, mode, page, user agent; never a value) go once per page load and
  (kind, name, reason) with `navigator.sendBeacon` to POST /governance/violations.

What a script in the page cannot stop, and the live-site audit (`python -m governance audit`)
covers: Workers and service workers (their own globals; a service worker has cookieStore, and can
also drop the guard's beacons), IndexedDB and Cache Storage (not declared kinds here), a script
that ran before the guard (only swept), a same-origin page that does not load guard.js once it
navigates to a new document (its writes are swept, not intercepted), and a window written
synchronously in the same task that created it before any hook ran (`window[i]` right after
appendChild of a frame with a src): the `storage` event sweeps what it wrote within a task. A page
that clears every timer id stops the periodic sweep; the event-driven sweeps remain.

Where page code can tell the guard is there: `Object.defineProperty(localStorage, k, {configurable:
false})` throws a TypeError after the guard's decision (a Proxy cannot report a non-configurable
property its target lacks); `new StorageEvent(type, {storageArea: localStorage})` refuses the
Proxy; the wrappers are not `[native code]`. With `Object.prototype.get` or `.set` defined by the
page, a property write that stores throws, as Chromium's own
`Object.getOwnPropertyDescriptor(localStorage, k)` does then.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterable
from pathlib import Path

from calmjs.parse import es5  # type: ignore[import-untyped]  # no stubs
from calmjs.parse.unparsers.es5 import minify_print  # type: ignore[import-untyped]

from policy_docs.schemas import Declaration

SOURCE_PATH = Path(__file__).with_name("static") / "guard.js"
CONFIG_PLACEHOLDER = "__GUARD_CONFIG__"
ENDPOINT = "/governance/violations"
MODES = ("enforce", "report", "off")
HEADER = "/* MailSetu storage guard: policy v{version}, generated from its declarations. Load it first. */\n"
OFF = "/* MailSetu storage guard: off in this deployment. */\n"


def render(declarations: Iterable[Declaration], *, mode: str, version: int | None, require_secure: bool = False) -> str:
    """guard.js for these declarations. `require_secure`: the deployment requires Secure on every cookie."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return OFF
    return _render(tuple(declarations), mode, version, require_secure, minify=True)


@functools.lru_cache(maxsize=32)
def _render(
    declarations: tuple[Declaration, ...], mode: str, version: int | None, require_secure: bool, *, minify: bool
) -> str:
    script = minified() if minify else _source()
    return HEADER.format(version="-" if version is None else version) + script.replace(
        CONFIG_PLACEHOLDER, config_literal(declarations, mode=mode, require_secure=require_secure)
    )


def config_literal(declarations: Iterable[Declaration], *, mode: str, require_secure: bool) -> str:
    """The allowlist as a JSON literal. Each entry is [name, is_prefix, http_only, secure, same_site,
    domain, path, duration kind, max seconds]; prefixes come longest first, as the server matches them."""
    allow: dict[str, list[list[object]]] = {"cookie": [], "local_storage": [], "session_storage": []}
    ordered = sorted(
        declarations, key=lambda d: -len(d.name) if d.match == "prefix" else 0
    )  # stable: exact names keep their order
    for d in ordered:
        allow[d.kind].append(
            [d.name, d.match == "prefix", d.http_only, d.secure, d.same_site, d.domain, d.path,
             d.duration.kind, d.duration.seconds]
        )  # fmt: skip
    config = {"mode": mode, "require_secure": require_secure, "endpoint": ENDPOINT, "allow": allow}
    # Safe inside an inline <script> as well: no "</script>", no "<!--", no U+2028/2029 (ensure_ascii).
    return json.dumps(config, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


@functools.cache
def _source() -> str:
    return SOURCE_PATH.read_text(encoding="utf-8")


@functools.cache
def minified() -> str:
    minified: str = minify_print(es5(_source()), obfuscate=True, obfuscate_globals=False)
    return minified


def sizes(script: str) -> tuple[int, int]:
    """(raw bytes, gzipped bytes) of a generated script."""
    raw = script.encode()
    return len(raw), len(gzip.compress(raw, compresslevel=9))


def size_report(declarations: Iterable[Declaration]) -> dict[str, int]:
    """Bytes of guard.js for these declarations: readable source, minified (as served), minified+gzipped."""
    items = tuple(declarations)
    source = _render(items, "enforce", 1, False, minify=False).encode()
    minified = render(items, mode="enforce", version=1).encode()
    return {"source": len(source), "minified": len(minified), "gzipped": sizes(minified.decode())[1]}

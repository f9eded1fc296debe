"""guard.js: the browser half of the guard, generated from the declarations in force.

Written as a template by hand (no bundler): it is ~2 KB, has no dependencies, and must run
before any other script on the page. It wraps Storage.prototype.setItem, the document.cookie
setter and cookieStore.set; an undeclared write is blocked in enforce mode, let through in
report mode, and reported once per page load with navigator.sendBeacon (names only, no values).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable

from policy_docs.schemas import Declaration

# `__ALLOW__` maps kind -> [[name, isPrefix, isHttpOnly], ...]; `__MODE__` and `__VERSION__` likewise.
TEMPLATE = r"""/* MailSetu storage guard: policy v__VERSION__, generated from its declarations. Load it first. */
(function(){"use strict";try{
var M=__MODE__,A=__ALLOW__,seen={},w=window,d=document,
E=new URL("/governance/violations",d.currentScript&&d.currentScript.src||location.href).href;
function find(k,n){var l=A[k]||[];for(var i=0;i<l.length;i++){var x=l[i];if(x[1]?n.indexOf(x[0])===0:n===x[0])return x}return null}
function report(k,n,r){var id=k+"\n"+n;if(seen[id])return;seen[id]=1;try{navigator.sendBeacon(E,JSON.stringify({kind:k,name:n,reason:r,mode:M,page:location.origin+location.pathname,user_agent:navigator.userAgent}))}catch(e){}}
function allow(k,n,js){try{var x=find(k,n),r=!x?"undeclared":js&&x[2]?"http_only":"";if(!r)return true;report(k,n,r);return M!=="enforce"}catch(e){return true}}
function removal(s){return /;\s*max-age\s*=\s*(0|-)/i.test(s)||(function(m){return !!m&&Date.parse(m[1])<Date.now()})(/;\s*expires\s*=\s*([^;]+)/i.exec(s))}
var S=w.Storage&&Storage.prototype,set=S&&S.setItem;
if(set)S.setItem=function(n,v){var k="local_storage";try{if(this===w.sessionStorage)k="session_storage"}catch(e){}
if(allow(k,String(n)))return set.apply(this,arguments)};
var C=Object.getOwnPropertyDescriptor(Document.prototype,"cookie");
if(C&&C.set)Object.defineProperty(Document.prototype,"cookie",{configurable:true,enumerable:C.enumerable,
get:function(){return C.get.call(this)},
set:function(v){var s=String(v),n=s.split(";")[0].split("=")[0].trim();if(removal(s)||allow("cookie",n,1))C.set.call(this,v)}});
var P=w.CookieStore&&CookieStore.prototype,cs=P&&P.set;
if(cs)P.set=function(a){var n=String(a&&typeof a==="object"?a.name:a);if(allow("cookie",n,1))return cs.apply(this,arguments);return Promise.resolve()};
}catch(e){}})();
"""

OFF = "/* MailSetu storage guard: off in this deployment. */\n"


def render(declarations: Iterable[Declaration], *, mode: str, version: int | None) -> str:
    if mode == "off":
        return OFF
    allow: dict[str, list[list]] = {"cookie": [], "local_storage": [], "session_storage": []}
    for d in declarations:
        allow[d.kind].append([d.name, 1 if d.match == "prefix" else 0, 1 if d.http_only else 0])
    compact = json.dumps(allow, separators=(",", ":"))
    return (
        TEMPLATE.replace("__ALLOW__", compact)
        .replace("__MODE__", json.dumps(mode))
        .replace("__VERSION__", str(version if version is not None else "-"))
    )


def sizes(script: str) -> tuple[int, int]:
    """(raw bytes, gzipped bytes) of a generated script: guard.js must stay under a few kilobytes."""
    raw = script.encode()
    return len(raw), len(gzip.compress(raw, compresslevel=9))

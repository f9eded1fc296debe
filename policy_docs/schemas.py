"""The policy's structured data, shared by the page, the allowlists, the guard and the inventory."""

from __future__ import annotations

from typing import Literal

import msgspec

DeclarationKind = Literal["cookie", "local_storage", "session_storage"]


class Duration(msgspec.Struct, frozen=True):
    """How long an item lives: `seconds` (with `seconds` set), `session`, or `persistent` (until cleared)."""

    kind: Literal["seconds", "session", "persistent"]
    text: str  # what the page shows, e.g. "30 days / until sign-out"
    seconds: int | None = None


class Declaration(msgspec.Struct, frozen=True, kw_only=True):
    """One declared cookie or storage key: the single source of truth for every consumer."""

    kind: DeclarationKind
    name: str
    match: Literal["exact", "prefix"] = "exact"
    category: str
    duration: Duration
    purpose: str
    provider: str = "first party"
    type_label: str = ""  # the page's "Type" column, e.g. "Cookie (HttpOnly)"
    # cookies only
    http_only: bool | None = None
    secure: bool | None = None
    same_site: Literal["lax", "strict", "none"] | None = None
    domain: str | None = None
    path: str | None = None

    def matches(self, kind: DeclarationKind, name: str) -> bool:
        if kind != self.kind:
            return False
        return name.startswith(self.name) if self.match == "prefix" else name == self.name

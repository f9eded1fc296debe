"""The policy's structured data, shared by the page, the allowlists, the guard and the inventory.

No `from __future__ import annotations` here on purpose: msgspec resolves string annotations
lazily, and under freezegun `datetime` would then resolve to FakeDatetime and fail to decode.
"""

from datetime import date, datetime
from typing import Any, Literal

import msgspec

from governance.core.schemas import Input

DeclarationKind = Literal["cookie", "local_storage", "session_storage"]


class Duration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long an item lives: `seconds` (with `seconds` set), `session`, or `persistent` (until cleared)."""

    kind: Literal["seconds", "session", "persistent"]
    text: str  # what the page shows, e.g. "30 days / until sign-out"
    seconds: int | None = None


class Declaration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One declared cookie or storage key: the single source of truth for every consumer.

    Cookie attributes: `None` means the declaration does not pin the attribute. In particular
    `secure=None` on our own cookies means the deployment setting `cookie_secure` decides.
    """

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

    @property
    def key(self) -> tuple[str, str]:
        """Identity of a declaration across versions (used by diffs and validation)."""
        return (self.kind, self.name)

    @property
    def type_text(self) -> str:
        """The page's "Type" column: `type_label`, or one derived from the kind."""
        return self.type_label or TYPE_TEXT[self.kind]


TYPE_TEXT = {"cookie": "Cookie", "local_storage": "localStorage", "session_storage": "sessionStorage"}


# --- the rest of a version's content ---------------------------------------------------------


class Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A prose section of the page. Its body is Markdown; after the body the page shows, when set,
    a table of the declarations in `table_category`, and/or one of the document's data lists."""

    id: str  # stable anchor, e.g. "cookies-we-use"
    heading: str  # e.g. "2. Cookies We Use"
    level: Literal[2, 3] = 2
    body: str = ""
    table_category: str | None = None
    data_list: Literal["not_used", "contact"] | None = None


class ContactEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: str  # e.g. "Privacy queries"
    value: str  # e.g. "privacy@mailssetu.in"
    kind: Literal["email", "address", "url", "text"] = "text"


class PolicyContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything a version says: what the content hash covers."""

    title: str
    intro: str = ""  # Markdown, shown before the first section
    sections: list[Section] = msgspec.field(default_factory=list)
    declarations: list[Declaration] = msgspec.field(default_factory=list)
    not_used: list[str] = msgspec.field(default_factory=list)  # "What we do not use"
    contact: list[ContactEntry] = msgspec.field(default_factory=list)


class PolicySnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A published version, as every consumer sees it (page, API, guard, allowlist, inventory).

    Immutable: a published version never changes, so a snapshot can be cached forever.
    """

    document: str  # "cookie-policy"
    number: int
    effective_from: datetime
    last_updated: date
    content_hash: str  # sha256 hex of the canonical JSON of `content`
    published_at: datetime  # who published is in the audit log, not in public JSON
    change_summary: str
    material: bool
    title: str
    intro: str
    sections: list[Section]
    declarations: list[Declaration]
    not_used: list[str]
    contact: list[ContactEntry]

    @property
    def content(self) -> PolicyContent:
        return PolicyContent(
            title=self.title,
            intro=self.intro,
            sections=self.sections,
            declarations=self.declarations,
            not_used=self.not_used,
            contact=self.contact,
        )

    def declaration_for(self, kind: DeclarationKind, name: str) -> Declaration | None:
        """The declaration covering a cookie/storage key (exact names win over prefixes), or None."""
        found = [d for d in self.declarations if d.matches(kind, name)]
        found.sort(key=lambda d: (d.match != "exact", -len(d.name)))
        return found[0] if found else None


# --- API bodies -------------------------------------------------------------------------------


class VersionSummary(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    status: Literal["in_force", "scheduled", "superseded"]
    effective_from: datetime
    last_updated: date
    change_summary: str
    material: bool
    content_hash: str
    published_at: datetime


class DraftCreate(Input, kw_only=True):
    """Start a draft from a published version (default: the latest one, scheduled or in force)."""

    based_on: int | None = None
    change_summary: str = ""
    material: bool = False


class DeclarationRef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: DeclarationKind
    name: str


class DraftPatch(Input, kw_only=True):
    """Fields left out are kept. `sections`/`declarations` replace the whole list;
    `upsert_declarations` adds or changes by (kind, name); `remove_declarations` removes."""

    title: str | None = None
    intro: str | None = None
    sections: list[Section] | None = None
    declarations: list[Declaration] | None = None
    upsert_declarations: list[Declaration] = msgspec.field(default_factory=list)
    remove_declarations: list[DeclarationRef] = msgspec.field(default_factory=list)
    not_used: list[str] | None = None
    contact: list[ContactEntry] | None = None
    change_summary: str | None = None
    material: bool | None = None
    expected_revision: int | None = None  # optimistic lock: 409 when someone edited the draft since


class DraftView(msgspec.Struct, kw_only=True):
    id: str
    document: str
    revision: int
    based_on: int | None
    change_summary: str
    material: bool
    created_by: str
    updated_at: datetime
    content: PolicyContent
    problems: list[str]


class PublishRequest(Input, kw_only=True):
    """`effective_from` omitted: now. `last_updated` omitted: today (the publishing date)."""

    effective_from: datetime | None = None
    last_updated: date | None = None
    change_summary: str | None = None
    material: bool | None = None


class DraftProblems(msgspec.Struct, frozen=True):
    problems: list[str]


class FieldChange(msgspec.Struct, frozen=True):
    field: str
    old: Any
    new: Any


class DeclarationChange(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str
    changes: list[FieldChange]


class SectionChange(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    heading: str
    change: Literal["added", "removed", "changed"]
    fields: list[str] = msgspec.field(default_factory=list)


class PolicyDiff(msgspec.Struct, frozen=True, kw_only=True):
    from_number: int
    to_number: int
    declarations_added: list[Declaration]
    declarations_removed: list[Declaration]
    declarations_changed: list[DeclarationChange]
    sections: list[SectionChange]
    other_changes: list[str]  # title, intro, not_used, contact

    @property
    def is_empty(self) -> bool:
        return not (
            self.declarations_added
            or self.declarations_removed
            or self.declarations_changed
            or self.sections
            or self.other_changes
        )

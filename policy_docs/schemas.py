"""The policy's structured data, shared by the page, the allowlists, the guard and the inventory.

No `from __future__ import annotations` here on purpose: msgspec resolves string annotations
lazily, and under freezegun `datetime` would then resolve to FakeDatetime and fail to decode.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from governance.core.errors import FieldError
from governance.core.schemas import Input

DeclarationKind = Literal["cookie", "local_storage", "session_storage"]

# Bounds of what a draft may hold. Content is stored as JSON, so these are the limits a reader of the
# page and the database can live with, not column widths; NUL is refused because PostgreSQL cannot store it.
_NO_NUL = r"^[^\x00]*$"
Line = Annotated[str, msgspec.Meta(max_length=200, pattern=_NO_NUL)]  # titles, headings, labels, categories
Name = Annotated[str, msgspec.Meta(max_length=256, pattern=_NO_NUL)]  # a cookie or storage key
Sentence = Annotated[str, msgspec.Meta(max_length=2_000, pattern=_NO_NUL)]  # purposes, summaries, reasons
Prose = Annotated[str, msgspec.Meta(max_length=100_000, pattern=_NO_NUL)]  # Markdown bodies
SectionId = Annotated[str, msgspec.Meta(max_length=64, pattern=_NO_NUL)]
MAX_NUMBER = 2**31 - 1  # version numbers and revisions are INTEGER columns
Number = Annotated[int, msgspec.Meta(ge=1, le=MAX_NUMBER)]
MAX_SECONDS = 100 * 366 * 86_400  # a century: no cookie or key is declared for longer
MAX_SECTIONS, MAX_DECLARATIONS, MAX_ITEMS = 200, 1_000, 200


class Duration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long an item lives: `seconds` (with `seconds` set), `session`, or `persistent` (until cleared)."""

    kind: Literal["seconds", "session", "persistent"]
    text: Line  # what the page shows, e.g. "30 days / until sign-out"
    seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_SECONDS)] | None = None


class Declaration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One declared cookie or storage key: the single source of truth for every consumer.

    Cookie attributes: `None` means the declaration does not pin the attribute. In particular
    `secure=None` on our own cookies means the deployment setting `cookie_secure` decides.
    """

    kind: DeclarationKind
    name: Name
    match: Literal["exact", "prefix"] = "exact"
    category: Line
    duration: Duration
    purpose: Sentence
    provider: Line = "first party"
    type_label: Line = ""  # the page's "Type" column, e.g. "Cookie (HttpOnly)"
    # cookies only
    http_only: bool | None = None
    secure: bool | None = None
    same_site: Literal["lax", "strict", "none"] | None = None
    domain: Name | None = None
    path: Name | None = None
    # Declared only for deployments in a mode (`token_in_body`: MS_TOKEN_IN_BODY); the allowlist, guard.js,
    # the audit and the inventory leave it out elsewhere. UNSET, not None: absent from the canonical JSON,
    # so the content hash of every version published before this field existed stays the same.
    requires: Literal["token_in_body"] | msgspec.UnsetType = msgspec.UNSET

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

    id: SectionId  # its key in edits and its anchor on the page, e.g. "cookies-we-use"
    heading: Line  # e.g. "2. Cookies We Use"
    level: Literal[2, 3] = 2
    body: Prose = ""
    table_category: Line | None = None
    data_list: Literal["not_used", "contact"] | None = None


class ContactEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Line  # e.g. "Privacy queries"
    value: Sentence  # e.g. "privacy@mailssetu.in"
    kind: Literal["email", "address", "url", "text"] = "text"


class PolicyContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything a version says: what the content hash covers."""

    title: Line
    intro: Prose = ""  # Markdown, shown before the first section
    sections: Annotated[list[Section], msgspec.Meta(max_length=MAX_SECTIONS)] = msgspec.field(default_factory=list)
    declarations: Annotated[list[Declaration], msgspec.Meta(max_length=MAX_DECLARATIONS)] = msgspec.field(
        default_factory=list
    )
    not_used: Annotated[list[Sentence], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )  # "What we do not use"
    contact: Annotated[list[ContactEntry], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)


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

    based_on: Number | None = None
    change_summary: Sentence = ""
    material: bool = False


class DeclarationRef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: DeclarationKind
    name: Name


class DraftPatch(Input, kw_only=True):
    """A PATCH merges: fields left out are kept.

    Items are edited one at a time by their key, sections by `id`, declarations by (`kind`, `name`):
    `upsert_*` adds an item (at the end) or replaces the one with its key, `remove_*` removes items.
    `replace_sections` / `replace_declarations` replace a whole list, and must be asked for by name;
    they apply first, then upserts, then removals. `section_order` (every section id, in order) moves
    sections. `not_used` and `contact` are short lists, replaced whole.
    """

    title: Line | None = None
    intro: Prose | None = None
    upsert_sections: Annotated[list[Section], msgspec.Meta(max_length=MAX_SECTIONS)] = msgspec.field(
        default_factory=list
    )
    remove_sections: Annotated[list[SectionId], msgspec.Meta(max_length=MAX_SECTIONS)] = msgspec.field(
        default_factory=list
    )
    replace_sections: Annotated[list[Section], msgspec.Meta(max_length=MAX_SECTIONS)] | None = None
    section_order: Annotated[list[SectionId], msgspec.Meta(max_length=MAX_SECTIONS)] | None = None
    upsert_declarations: Annotated[list[Declaration], msgspec.Meta(max_length=MAX_DECLARATIONS)] = msgspec.field(
        default_factory=list
    )
    remove_declarations: Annotated[list[DeclarationRef], msgspec.Meta(max_length=MAX_DECLARATIONS)] = msgspec.field(
        default_factory=list
    )
    replace_declarations: Annotated[list[Declaration], msgspec.Meta(max_length=MAX_DECLARATIONS)] | None = None
    not_used: Annotated[list[Sentence], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    contact: Annotated[list[ContactEntry], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    change_summary: Sentence | None = None
    material: bool | None = None
    expected_revision: Number | None = None  # optimistic lock: 409 when someone edited the draft since


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
    problems: list[FieldError]  # what would block publishing, each with the field it concerns


class PublishRequest(Input, kw_only=True):
    """`effective_from` omitted: now. `last_updated` omitted: today (the publishing date)."""

    effective_from: datetime | None = None
    last_updated: date | None = None
    change_summary: Sentence | None = None
    material: bool | None = None


class WithdrawRequest(Input, kw_only=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000, pattern=_NO_NUL)]


class WithdrawnVersion(msgspec.Struct, frozen=True, kw_only=True):
    """A scheduled version taken back before its instant: kept for the record, shown to no one else."""

    number: int
    status: Literal["withdrawn"]
    effective_from: datetime  # the instant it would have taken effect
    content_hash: str
    withdrawn_at: datetime
    withdrawn_by: str
    reason: str


class DraftProblems(msgspec.Struct, frozen=True):
    problems: list[FieldError]


# --- what changed -------------------------------------------------------------------------------


class FieldChange(msgspec.Struct, frozen=True):
    field: str
    old: Any
    new: Any


class DeclarationChange(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str
    changes: list[FieldChange]


class Segment(msgspec.Struct, frozen=True):
    """A run of text in a redline: kept (`equal`), added (`insert`) or taken out (`delete`)."""

    op: Literal["equal", "insert", "delete"]
    text: str


class Redline(msgspec.Struct, frozen=True):
    """A changed prose field, word by word: joining every `equal`+`delete` text gives the old value,
    every `equal`+`insert` text the new one."""

    field: Literal["heading", "body"]
    segments: list[Segment]


class SectionChange(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    heading: str
    change: Literal["added", "removed", "changed"]
    fields: list[str] = msgspec.field(default_factory=list)  # every changed field's name
    redlines: list[Redline] = msgspec.field(default_factory=list)  # heading and body, word by word
    changes: list[FieldChange] = msgspec.field(default_factory=list)  # the other fields, old and new


class Changes(msgspec.Struct, frozen=True, kw_only=True):
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


class PolicyDiff(Changes, frozen=True, kw_only=True):
    """What changed from one published version to another."""

    from_number: int
    to_number: int


class DraftDiff(Changes, frozen=True, kw_only=True):
    """What a draft changes in the version it was started from."""

    draft_id: str
    revision: int
    based_on: int

"""Console forms into the API's own input structs: the same msgspec types, so the same limits.

A form field that cannot become its struct (an unknown kind, seconds that are not a number, a name
too long) is a FieldError named as the API names it (`declarations[3].duration.seconds`), shown next
to that field; nothing is saved then. Rules beyond the types are the service's (draft problems).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from litestar.datastructures import FormMultiDict

from governance.core.errors import DomainError, FieldError, Invalid
from governance.core.params import parse_instant
from policy_docs.schemas import Declaration, Section

MAX_ROWS = 1_000
_AT = re.compile(r" - at `\$(.*)`$")  # msgspec names the failing path of a conversion this way
# Every field of a declaration, as the editor's inputs name them (`d-3-duration.text`).
DECLARATION_FIELDS = (
    "kind",
    "name",
    "match",
    "category",
    "duration.kind",
    "duration.text",
    "duration.seconds",
    "purpose",
    "provider",
    "type_label",
    "http_only",
    "secure",
    "same_site",
    "domain",
    "path",
    "requires",
)
TRI_STATE = {"": None, "yes": True, "no": False}  # cookie flags: not pinned, on, off


def text(form: FormMultiDict, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def conversion_error(exc: msgspec.ValidationError, prefix: str) -> FieldError:
    """`Expected int, got str - at `$.duration.seconds`` -> field `declarations[3].duration.seconds`."""
    message = str(exc)
    found = _AT.search(message)
    path = found[1] if found else ""
    detail = _AT.sub("", message)
    name = f"{prefix}{path}" if path.startswith((".", "[")) else prefix
    return FieldError(name.lstrip(".") or None, detail)


@dataclass
class DeclarationRows:
    """The editor's table as submitted: each row's raw values (to show again), and what it converts to."""

    rows: list[dict[str, str]] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def _row_value(raw: dict[str, str]) -> dict[str, Any]:
    value: dict[str, Any] = {
        "kind": raw["kind"],
        "name": raw["name"].strip(),
        "match": raw["match"] or "exact",
        "category": raw["category"].strip(),
        "duration": {"kind": raw["duration.kind"], "text": raw["duration.text"].strip()},
        "purpose": raw["purpose"].strip(),
        "provider": raw["provider"].strip(),
        "type_label": raw["type_label"].strip(),
    }
    seconds = raw["duration.seconds"].strip()
    if seconds:
        value["duration"]["seconds"] = int(seconds) if re.fullmatch(r"\d{1,12}", seconds) else seconds
    for flag in ("http_only", "secure"):
        value[flag] = TRI_STATE.get(raw[flag], raw[flag])
    for optional in ("same_site", "domain", "path"):
        value[optional] = raw[optional].strip() or None
    if raw["requires"]:
        value["requires"] = raw["requires"]
    return value


def declaration_rows(form: FormMultiDict) -> DeclarationRows:
    """Rows `d-0-*` .. `d-{n-1}-*` (n from `rows`); a row ticked `d-i-remove`, or left blank, is dropped."""
    try:
        count = min(int(text(form, "rows") or 0), MAX_ROWS)
    except ValueError:
        count = 0
    parsed = DeclarationRows()
    for i in range(count):
        raw = {name: text(form, f"d-{i}-{name}") for name in DECLARATION_FIELDS}
        raw["remove"] = text(form, f"d-{i}-remove")
        parsed.rows.append(raw)
        if raw["remove"] or not any(raw[name].strip() for name in ("name", "category", "purpose", "duration.text")):
            continue
        try:
            parsed.declarations.append(msgspec.convert(_row_value(raw), Declaration))
        except msgspec.ValidationError as exc:  # named by its row in the form, which is shown again as sent
            parsed.errors.append(conversion_error(exc, f"declarations[{i}]"))
    return parsed


def row_of(declaration: Declaration) -> dict[str, str]:
    """A declaration as the editor's inputs show it."""

    def flag(value: bool | None) -> str:
        return "" if value is None else ("yes" if value else "no")

    return {
        "kind": declaration.kind,
        "name": declaration.name,
        "match": declaration.match,
        "category": declaration.category,
        "duration.kind": declaration.duration.kind,
        "duration.text": declaration.duration.text,
        "duration.seconds": "" if declaration.duration.seconds is None else str(declaration.duration.seconds),
        "purpose": declaration.purpose,
        "provider": declaration.provider,
        "type_label": declaration.type_label,
        "http_only": flag(declaration.http_only),
        "secure": flag(declaration.secure),
        "same_site": declaration.same_site or "",
        "domain": declaration.domain or "",
        "path": declaration.path or "",
        "requires": "" if declaration.requires is msgspec.UNSET else str(declaration.requires),
        "remove": "",
    }


def blank_row() -> dict[str, str]:
    return dict.fromkeys((*DECLARATION_FIELDS, "remove"), "") | {
        "kind": "cookie",
        "match": "exact",
        "duration.kind": "seconds",
        "provider": "first party",
    }


def section_from(form: FormMultiDict, existing: Section, index: int) -> tuple[Section | None, list[FieldError]]:
    """One section's edit: heading, level and body; its id, table and data list stay as they are."""
    value = msgspec.to_builtins(existing) | {
        "heading": text(form, "heading").strip(),
        "body": text(form, "body").replace("\r\n", "\n"),
    }
    level = text(form, "level")
    value["level"] = int(level) if level in {"2", "3"} else level
    try:
        return msgspec.convert(value, Section), []
    except msgspec.ValidationError as exc:
        return None, [conversion_error(exc, f"sections[{index}]")]


def utc_instant(value: str, name: str = "effective_from") -> datetime:
    """A datetime-local value (read as UTC: the forms say so) or an ISO instant; the error names the field."""
    text_value = value.strip()
    if len(text_value) == 16 and text_value[10] == "T":  # `2026-05-01T12:00` from <input type=datetime-local>
        text_value += ":00+00:00"
    try:
        return parse_instant(text_value, name)
    except DomainError as exc:
        problem = f"{value!r} is not a date and time (UTC), such as 2026-05-01 12:00"
        raise Invalid(problem, errors=[FieldError(name, problem)]) from exc


def local_input(value: datetime | None) -> str:
    """An instant as a datetime-local input's value, in UTC."""
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M")

"""What makes a version publishable: every problem, each with the field it concerns.

Fields are named as a client addresses them in the draft's content, e.g. `declarations[3].duration.text`
or `sections[0].heading` (indices into the draft's lists, as `GET /api/policy/drafts/{id}` shows them).
The console puts each problem next to its field, so a path names the field that has to change, and
the order is stable: the document's fields, then the sections, then the declarations, in list order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from governance.core.errors import FieldError
from policy_docs.schemas import Declaration, PolicyContent

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 6265 token
_SECTION_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # an anchor that reads well in a URL
_SAYS_READABLE_BY_JS = re.compile(r"(?<!not )(?<!never )readable by javascript", re.IGNORECASE)
_COOKIE_ONLY = ("http_only", "secure", "same_site", "domain", "path")


def problems(content: PolicyContent) -> list[FieldError]:
    return [*_document_problems(content), *_section_problems(content), *_declarations_problems(content)]


def _document_problems(content: PolicyContent) -> Iterator[FieldError]:
    if not content.title.strip():
        yield FieldError("title", "the title is empty")
    for i, item in enumerate(content.not_used):
        if not item.strip():
            yield FieldError(f"not_used[{i}]", "an item of the 'what we do not use' list is empty")
    for i, entry in enumerate(content.contact):
        for field in ("label", "value"):
            if not getattr(entry, field).strip():
                yield FieldError(f"contact[{i}].{field}", f"a contact entry needs a {field}")


def _section_problems(content: PolicyContent) -> Iterator[FieldError]:
    first_with_id: dict[str, int] = {}
    categories = {d.category for d in content.declarations}
    previous_level = 1
    for i, section in enumerate(content.sections):
        at = f"sections[{i}]"
        if section.id in first_with_id:
            yield FieldError(
                f"{at}.id", f"section id {section.id!r} is already used by sections[{first_with_id[section.id]}]"
            )
        first_with_id.setdefault(section.id, i)
        if not _SECTION_ID.match(section.id):
            yield FieldError(f"{at}.id", f"{section.id!r}: use lowercase letters, digits and single hyphens")
        if not section.heading.strip():
            yield FieldError(f"{at}.heading", f"section {section.id!r} has no heading")
        if section.level > previous_level + 1:
            yield FieldError(
                f"{at}.level",
                f"section {section.id!r} is a level-{section.level} heading right after level {previous_level}",
            )
        previous_level = section.level
        if section.table_category and section.table_category not in categories:
            yield FieldError(
                f"{at}.table_category",
                f"section {section.id!r} tables the category {section.table_category!r}, but no declaration has it",
            )


def _declarations_problems(content: PolicyContent) -> Iterator[FieldError]:
    declarations = content.declarations
    tabled = {s.table_category for s in content.sections if s.table_category}
    first_with_key: dict[tuple[str, str], int] = {}
    for i, declaration in enumerate(declarations):
        at = f"declarations[{i}]"
        if declaration.key in first_with_key:
            yield FieldError(
                f"{at}.name",
                f"{declaration.name} ({declaration.kind}) is already declared at declarations[{first_with_key[declaration.key]}]",
            )
        first_with_key.setdefault(declaration.key, i)
        yield from _prefix_problems(at, declaration, declarations)
        if declaration.category.strip() and declaration.category not in tabled:
            yield FieldError(
                f"{at}.category",
                f"{declaration.name}: its category {declaration.category!r} is tabled by no section, so the page would not show it",
            )
        yield from declaration_problems(declaration, at)


def _prefix_problems(at: str, prefix: Declaration, declarations: list[Declaration]) -> Iterator[FieldError]:
    if prefix.match != "prefix":
        return
    for j, other in enumerate(declarations):
        if other is not prefix and other.kind == prefix.kind and other.name.startswith(prefix.name):
            yield FieldError(
                f"{at}.name",
                f"the prefix {prefix.name!r} ({prefix.kind}) swallows the declaration {other.name!r} (declarations[{j}])",
            )


def declaration_problems(d: Declaration, at: str = "declaration") -> list[FieldError]:
    """One declaration's own problems; `at` is its path (`declarations[3]`)."""
    if not d.name.strip():
        return [FieldError(f"{at}.name", f"a {d.kind} declaration has no name")]
    found = [
        FieldError(f"{at}.{field}", f"{d.name}: no {field}")
        for field in ("category", "purpose", "provider")
        if not getattr(d, field).strip()
    ]
    found += _duration_problems(d, at)
    if d.kind == "cookie":
        found += _cookie_problems(d, at)
    else:
        found += [
            FieldError(f"{at}.{attr}", f"{d.name}: {attr} only applies to cookies, not to {d.kind}")
            for attr in _COOKIE_ONLY
            if getattr(d, attr) is not None
        ]
    return found


def _duration_problems(d: Declaration, at: str) -> list[FieldError]:
    duration, found = d.duration, []
    if not duration.text.strip():
        found.append(FieldError(f"{at}.duration.text", f"{d.name}: the duration has no text for the page"))
    if duration.kind == "seconds" and not duration.seconds:
        found.append(
            FieldError(f"{at}.duration.seconds", f"{d.name}: a duration in seconds needs a positive number of seconds")
        )
    if duration.kind != "seconds" and duration.seconds is not None:
        found.append(
            FieldError(f"{at}.duration.seconds", f"{d.name}: a {duration.kind} duration has no number of seconds")
        )
    return found


def _cookie_problems(d: Declaration, at: str) -> list[FieldError]:
    found = []

    def problem(field: str, detail: str) -> None:
        found.append(FieldError(f"{at}.{field}", f"{d.name}: {detail}"))

    if not _COOKIE_NAME.match(d.name):
        found.append(FieldError(f"{at}.name", f"{d.name!r}: not a valid cookie name"))
    if d.http_only is None:
        problem("http_only", "say whether the cookie is HttpOnly")
    label = d.type_label.lower()
    if d.http_only and _SAYS_READABLE_BY_JS.search(d.purpose):
        problem("purpose", "an HttpOnly cookie cannot be described as readable by JavaScript")
    if d.http_only and "not httponly" in label:
        problem("type_label", "an HttpOnly cookie cannot be described as readable by JavaScript")
    if d.http_only is False and "httponly" in label and "not httponly" not in label:
        problem("type_label", "the type says HttpOnly but http_only is false")
    if d.same_site == "none" and d.secure is not True:
        problem("secure", "SameSite=None requires Secure")
    if d.path is not None and not d.path.startswith("/"):
        problem("path", "the path must start with '/'")
    if d.name.startswith("__Host-"):
        if d.secure is not True:
            problem("secure", "a __Host- cookie must be Secure")
        if d.path != "/":
            problem("path", "a __Host- cookie must have the path '/'")
        if d.domain:
            problem("domain", "a __Host- cookie cannot name a domain")
    if d.name.startswith("__Secure-") and d.secure is not True:
        problem("secure", "a __Secure- cookie must be Secure")
    return found

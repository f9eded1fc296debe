"""What makes a version publishable. Each check returns sentences; the API lists them all (422)."""

from __future__ import annotations

import re
from collections import Counter

from policy_docs.schemas import Declaration, PolicyContent

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 6265 token
_SAYS_READABLE_BY_JS = re.compile(r"(?<!not )(?<!never )readable by javascript", re.IGNORECASE)
_COOKIE_ONLY = ("http_only", "secure", "same_site", "domain", "path")


def problems(content: PolicyContent) -> list[str]:
    found = [*_content_problems(content), *_section_problems(content)]
    found += _duplicate_problems(content.declarations)
    found += _prefix_problems(content.declarations)
    for declaration in content.declarations:
        found += declaration_problems(declaration)
    return found


def _content_problems(content: PolicyContent) -> list[str]:
    found = []
    if not content.title.strip():
        found.append("the title is empty")
    if any(not item.strip() for item in content.not_used):
        found.append("the 'what we do not use' list has an empty item")
    if any(not (entry.label.strip() and entry.value.strip()) for entry in content.contact):
        found.append("a contact entry has no label or no value")
    return found


def _section_problems(content: PolicyContent) -> list[str]:
    found = []
    ids = Counter(section.id for section in content.sections)
    found += [f"section id {sid!r} is used {n} times" for sid, n in ids.items() if n > 1]
    previous_level = 1
    for section in content.sections:
        if not section.heading.strip():
            found.append(f"section {section.id!r} has no heading")
        if section.level > previous_level + 1:
            found.append(
                f"section {section.id!r} is a level-{section.level} heading right after level {previous_level}"
            )
        previous_level = section.level
    tabled = {s.table_category for s in content.sections if s.table_category}
    categories = {d.category for d in content.declarations}
    for category in sorted(tabled - categories):
        found.append(f"a section tables the category {category!r}, but no declaration has it")
    for declaration in content.declarations:
        if declaration.category not in tabled:
            found.append(
                f"{declaration.name}: its category {declaration.category!r} is tabled by no section, so the page would not show it"
            )
    return found


def _duplicate_problems(declarations: list[Declaration]) -> list[str]:
    counts = Counter(d.key for d in declarations)
    return [f"{name} ({kind}) is declared {n} times" for (kind, name), n in counts.items() if n > 1]


def _prefix_problems(declarations: list[Declaration]) -> list[str]:
    found = []
    for prefix in (d for d in declarations if d.match == "prefix"):
        for other in declarations:
            if other is not prefix and other.kind == prefix.kind and other.name.startswith(prefix.name):
                found.append(f"the prefix {prefix.name!r} ({prefix.kind}) swallows the declaration {other.name!r}")
    return found


def declaration_problems(d: Declaration) -> list[str]:
    found = []
    if not d.name.strip():
        return [f"a {d.kind} declaration has no name"]
    if not d.category.strip():
        found.append(f"{d.name}: no category")
    if not d.purpose.strip():
        found.append(f"{d.name}: no purpose")
    if not d.provider.strip():
        found.append(f"{d.name}: no provider")
    found += _duration_problems(d)
    if d.kind == "cookie":
        found += _cookie_problems(d)
    else:
        pinned = [attr for attr in _COOKIE_ONLY if getattr(d, attr) is not None]
        if pinned:
            found.append(f"{d.name}: {', '.join(pinned)} only apply to cookies, not to {d.kind}")
    return found


def _duration_problems(d: Declaration) -> list[str]:
    duration, found = d.duration, []
    if not duration.text.strip():
        found.append(f"{d.name}: the duration has no text for the page")
    if duration.kind == "seconds" and (duration.seconds is None or duration.seconds <= 0):
        found.append(f"{d.name}: a duration in seconds needs a positive number of seconds")
    if duration.kind != "seconds" and duration.seconds is not None:
        found.append(f"{d.name}: a {duration.kind} duration has no number of seconds")
    return found


def _cookie_problems(d: Declaration) -> list[str]:
    found = []
    if not _COOKIE_NAME.match(d.name):
        found.append(f"{d.name!r}: not a valid cookie name")
    if d.http_only is None:
        found.append(f"{d.name}: say whether the cookie is HttpOnly")
    label = d.type_label.lower()
    if d.http_only and (_SAYS_READABLE_BY_JS.search(d.purpose) or "not httponly" in label):
        found.append(f"{d.name}: an HttpOnly cookie cannot be described as readable by JavaScript")
    if d.http_only is False and "httponly" in label and "not httponly" not in label:
        found.append(f"{d.name}: the type says HttpOnly but http_only is false")
    if d.same_site == "none" and d.secure is not True:
        found.append(f"{d.name}: SameSite=None requires Secure")
    if d.path is not None and not d.path.startswith("/"):
        found.append(f"{d.name}: the path must start with '/'")
    if d.name.startswith("__Host-") and (d.secure is not True or d.path != "/" or d.domain):
        found.append(f"{d.name}: a __Host- cookie must be Secure, with path '/' and no domain")
    if d.name.startswith("__Secure-") and d.secure is not True:
        found.append(f"{d.name}: a __Secure- cookie must be Secure")
    return found

"""Known tracking vendors (vendors.toml) and which of them a policy promises not to use."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

VENDORS_FILE = Path(__file__).with_name("vendors.toml")


@dataclass(frozen=True)
class Pattern:
    """`host[/path][?param=value-prefix]`, see vendors.toml."""

    host: str
    any_subdomain: bool
    path: str
    query: tuple[str, str] | None

    @classmethod
    def parse(cls, text: str) -> Pattern:
        rest, _, query = text.partition("?")
        host, slash, path = rest.partition("/")
        name, _, prefix = query.partition("=")
        return cls(
            host=host.removeprefix("*.").lower(),
            any_subdomain=host.startswith("*."),
            path=(slash + path).rstrip("/"),
            query=(name, prefix) if query else None,
        )

    def matches(self, host: str, path: str, query: str) -> bool:
        if not (host == self.host or (self.any_subdomain and host.endswith("." + self.host))):
            return False
        if self.path and not (path == self.path or path.startswith(self.path + "/")):
            return False
        if self.query is None:
            return True
        name, prefix = self.query
        return any(key == name and value.startswith(prefix) for key, value in parse_qsl(query))


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    category: str
    patterns: tuple[Pattern, ...]
    source: str
    aliases: tuple[str, ...] = ()

    def matches(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return any(p.matches(host, parts.path or "/", parts.query) for p in self.patterns)

    def named_in(self, text: str, category_phrases: dict[str, tuple[str, ...]]) -> bool:
        """The text names this vendor, or a phrase of its category ("any third-party analytics")."""
        words = (self.name, *self.aliases, *category_phrases.get(self.category, ()))
        return any(re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) for word in words)


@dataclass(frozen=True)
class VendorTable:
    vendors: tuple[Vendor, ...]
    category_phrases: dict[str, tuple[str, ...]]

    def vendor_for(self, url: str) -> Vendor | None:
        return next((v for v in self.vendors if v.matches(url)), None)

    def named_in(self, text: str) -> list[Vendor]:
        return [v for v in self.vendors if v.named_in(text, self.category_phrases)]

    def promised_absent(self, not_used: list[str]) -> dict[str, str]:
        """vendor id -> the "What we do not use" entry that rules it out."""
        promised: dict[str, str] = {}
        for entry in not_used:
            for vendor in self.named_in(entry):
                promised.setdefault(vendor.id, entry)
        return promised


def parse_vendors(document: dict) -> VendorTable:
    vendors = tuple(
        Vendor(
            id=v["id"],
            name=v["name"],
            category=v["category"],
            patterns=tuple(Pattern.parse(p) for p in v["patterns"]),
            source=v["source"],
            aliases=tuple(v.get("aliases", ())),
        )
        for v in document.get("vendors", [])
    )
    phrases = {c["id"]: tuple(c["phrases"]) for c in document.get("categories", [])}
    unknown = sorted({v.category for v in vendors} - phrases.keys())
    if unknown:
        raise ValueError(f"vendors.toml: vendors name unknown categories {unknown}")
    return VendorTable(vendors=vendors, category_phrases=phrases)


@cache
def default_vendors() -> VendorTable:
    return parse_vendors(tomllib.loads(VENDORS_FILE.read_text(encoding="utf-8")))

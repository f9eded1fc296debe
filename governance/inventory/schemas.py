"""One row of the inventory, as the JSON export lists it and the CSV export's columns name it."""

from __future__ import annotations

import msgspec


class InventoryRow(msgspec.Struct, kw_only=True):
    kind: str
    name: str
    match: str
    category: str
    duration_text: str
    duration_seconds: int | None
    duration_kind: str
    http_only: bool | None
    secure: bool | None
    same_site: str | None
    domain: str | None
    path: str | None
    purpose: str
    provider: str
    policy_version: int
    effective_from: str
    content_hash: str

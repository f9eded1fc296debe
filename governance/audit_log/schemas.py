"""Entries of the audit log as the API and the exports show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditEntryView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str  # the previous entry's hash (64 zeros for the first)
    hash: str  # SHA-256 over this entry's canonical content and prev_hash


COLUMNS = tuple(AuditEntryView.__struct_fields__)

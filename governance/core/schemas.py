"""Base structs for the API: what every request body and every view shares."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

V = TypeVar("V", bound=msgspec.Struct)


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body. An unknown field (a typo) is a 400 that names it, never silently ignored."""


def view(kind: type[V], row: Any) -> V:
    """An ORM row (or any object with the fields as attributes) as a response struct."""
    return msgspec.convert(row, kind, from_attributes=True)


def views(kind: type[V], rows: Any) -> list[V]:
    return [msgspec.convert(row, kind, from_attributes=True) for row in rows]

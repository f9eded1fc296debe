"""Jinja filters and globals of the console templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from governance.console import web


def iso(value: datetime | None) -> str:
    """For <time datetime=...>: the browser script shows it in the reader's time zone beside the UTC text."""
    return "" if value is None else value.isoformat()


def register(engine: Any) -> None:
    engine.engine.filters.update(utc=web.utc, iso=iso)
    engine.engine.globals["console_prefix"] = web.PREFIX

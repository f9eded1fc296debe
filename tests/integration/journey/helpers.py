"""Helpers for the journey tests: batches as the snippet sends them, and the stored rows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.conftest import Database
from tracking.journey.models import JourneyEvent, JourneySession


def new_id() -> str:
    return str(uuid.uuid4())


def batch(
    *events: dict[str, Any], visitor_id: str | None = None, session_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "visitor_id": visitor_id or new_id(),
        "session_id": session_id or new_id(),
        "events": list(events) or [{"type": "page_view", "url": "/"}],
        **fields,
    }


def stored_events(db: Database) -> list[JourneyEvent]:
    return db.run(lambda session: _all(session, JourneyEvent))


def stored_sessions(db: Database) -> list[JourneySession]:
    return db.run(lambda session: _all(session, JourneySession))


async def _all(session: Any, model: Any) -> list[Any]:
    return list(await session.scalars(select(model).order_by(model.id)))

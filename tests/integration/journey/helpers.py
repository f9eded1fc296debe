"""Helpers for the journey tests: batches as the snippet sends them, and the stored rows."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from tests.conftest import Database
from tracking.journey.models import JourneyEvent, JourneySession
from tracking.journey.plugin import SPOOL_STATE_KEY


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


def flush(client: TestClient) -> None:
    """Wait (up to 30 s) until every accepted batch is in the database."""

    async def loaded() -> None:
        async with asyncio.timeout(30):
            await client.app.state[SPOOL_STATE_KEY].flush()

    client.blocking_portal.call(loaded)


def stored_events(db: Database, client: TestClient | None = None) -> list[JourneyEvent]:
    """The stored events (once what `client`'s app accepted is loaded)."""
    if client is not None:
        flush(client)
    return db.run(lambda session: _all(session, JourneyEvent))


def stored_sessions(db: Database, client: TestClient | None = None) -> list[JourneySession]:
    if client is not None:
        flush(client)
    return db.run(lambda session: _all(session, JourneySession))


async def _all(session: Any, model: Any) -> list[Any]:
    return list(await session.scalars(select(model).order_by(model.id)))

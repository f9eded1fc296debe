"""Accepted batches reach the database through the spool: grouped loads store exactly what one-by-one
storage would, and a replay of the same batches adds nothing."""

import random
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import func, select

from tests.integration.journey.helpers import new_id
from tracking.journey import service
from tracking.journey.models import JourneyEvent, JourneySession
from tracking.journey.schemas import EventBatch

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PATHS = ["/", "/pricing", "/docs", "/signup"]
SESSION_COLUMNS = ("session_id", "visitor_id", "started_at", "ended_at", "landing_path", "exit_path", "page_views",
                   "country", "region", "ft_source", "ft_referrer")  # fmt: skip


def random_batches(rng: random.Random, count: int) -> list[service.AcceptedBatch]:
    """Batches of a few sessions, arriving out of order (late pages, steps only, geo on some)."""
    sessions = [(new_id(), new_id()) for _ in range(4)]
    accepted = []
    for n in range(count):
        visitor, session = rng.choice(sessions)
        events = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                events.append({"type": "step", "url": "/signup", "step": "signup_started"})
            else:
                events.append({"type": "page_view", "url": rng.choice(PATHS), "age_ms": rng.randint(0, 600_000)})
        body = {"visitor_id": visitor, "session_id": session, "events": events}
        if rng.random() < 0.3:
            body["first_touch"] = {"utm_source": f"source-{n}"}
        accepted.append(
            service.accept_batch(
                msgspec.convert(body, EventBatch),
                received_at=START + timedelta(seconds=n),
                country=rng.choice(["IN", None]),
            )
        )
    return accepted


def sessions_and_events(db) -> tuple[list[tuple], int]:
    async def read(session):
        rows = await session.scalars(select(JourneySession).order_by(JourneySession.session_id))
        events = await session.scalar(select(func.count()).select_from(JourneyEvent))
        return [tuple(getattr(r, c) for c in SESSION_COLUMNS) for r in rows], events

    return db.run(read)


def test_grouped_loads_leave_exactly_the_rollup_of_one_by_one_storage_and_replays_add_nothing(db):
    batches = random_batches(random.Random(3), 60)

    for batch in batches:  # one transaction per batch: the reference
        db.run(lambda s, b=batch: service.store_batches(s, [b]))
    one_by_one = sessions_and_events(db)
    db.run(lambda s: s.execute(JourneyEvent.__table__.delete()))
    db.run(lambda s: s.execute(JourneySession.__table__.delete()))

    stored = [db.run(lambda s, g=batches[i : i + 17]: service.store_batches(s, g)) for i in range(0, 60, 17)]
    grouped = sessions_and_events(db)
    replayed = [db.run(lambda s, g=batches[i : i + 25]: service.store_batches(s, g)) for i in range(0, 60, 25)]

    assert grouped == one_by_one
    assert sum(stored) == sum(len(b.events) for b in batches) == grouped[1]
    assert replayed == [0, 0, 0] and sessions_and_events(db) == one_by_one

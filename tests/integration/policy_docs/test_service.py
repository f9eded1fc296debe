"""The service on a real database: seeding once, the version in force, the next change."""

import asyncio
from datetime import UTC, datetime, timedelta

from governance.core.db import standalone_session
from policy_docs import service
from policy_docs.schemas import DraftCreate, PublishRequest

V1_START = datetime(2026, 4, 17, tzinfo=UTC)


async def _seed_from_two_instances(url: str) -> list[bool]:
    async def instance() -> bool:
        async with standalone_session(url) as session:
            return await service.seed_safely(session)

    return await asyncio.gather(instance(), instance(), instance())


def test_instances_starting_together_seed_one_version(db):
    created = asyncio.run(_seed_from_two_instances(db.url))

    assert created.count(True) == 1
    assert db.scalar("SELECT count(*) FROM policy_versions") == 1
    assert db.scalar("SELECT count(*) FROM policy_documents") == 1
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'policy.publish'") == 1


def test_snapshot_at_and_next_change_after(db):
    future = service.now() + timedelta(days=3)

    async def scenario(session):
        await service.ensure_seeded(session)
        draft = await service.create_draft(session, DraftCreate(change_summary="later"), "staff@example.test")
        await service.publish(session, draft.id, PublishRequest(effective_from=future), "staff@example.test")
        return (
            await service.snapshot_at(session, V1_START - timedelta(microseconds=1)),
            (await service.snapshot_at(session, V1_START)).number,
            (await service.snapshot_at(session, future - timedelta(seconds=1))).number,
            (await service.snapshot_at(session, future)).number,
            await service.next_change_after(session, V1_START),
            await service.next_change_after(session, future),
        )

    before, first, still_first, second, next_change, none_after = db.run(scenario)

    assert (before, first, still_first, second) == (None, 1, 1, 2)
    assert next_change == future and none_after is None

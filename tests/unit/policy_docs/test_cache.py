"""The in-process cache answers from memory, switches at scheduled instants, reloads when told."""

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from freezegun import freeze_time

from governance.core.errors import BadRequest
from governance.core.params import parse_instant
from policy_docs import service
from policy_docs.cache import PolicyCache
from policy_docs.schemas import PolicySnapshot
from policy_docs.seed import load_seed

V1_START = datetime(2026, 4, 17, tzinfo=UTC)
V2_START = datetime(2026, 12, 1, 12, tzinfo=UTC)


def snapshot(number: int, start: datetime) -> PolicySnapshot:
    content = load_seed().content
    return PolicySnapshot(
        document="cookie-policy", number=number, effective_from=start, last_updated=date(2026, 5, 10),
        content_hash=f"hash{number}", published_at=start, change_summary="", material=False,
        **msgspec.structs.asdict(content),
    )  # fmt: skip


class FakeDatabase:
    """Stands in for the service's two reads; counts the sessions opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.versions = [snapshot(1, V1_START)]
        self.sessions = 0

        async def timeline(session, document):
            return [(v.effective_from, v.number) for v in self.versions]

        async def published_versions(session, document, numbers=None):
            return [v for v in self.versions if numbers is None or v.number in numbers]

        monkeypatch.setattr(service, "timeline", timeline)
        monkeypatch.setattr(service, "published_versions", published_versions)

    @asynccontextmanager
    async def session(self):
        self.sessions += 1
        yield None


@pytest.fixture
def fake(monkeypatch):
    return FakeDatabase(monkeypatch)


def test_repeated_reads_open_one_session(fake):
    cache = PolicyCache(fake.session, ttl=60)

    async def read_many():
        return [await cache.current() for _ in range(100)]

    assert {s.number for s in asyncio.run(read_many())} == {1}
    assert fake.sessions == 1


def test_a_scheduled_version_takes_over_at_its_instant_without_a_query(fake):
    fake.versions.append(snapshot(2, V2_START))
    cache = PolicyCache(fake.session, ttl=3600)

    async def number_at(moment: datetime) -> int:
        with freeze_time(moment, real_asyncio=True):
            return (await cache.current()).number

    async def scenario():
        before = await number_at(V2_START - timedelta(microseconds=1))
        after = await number_at(V2_START)
        return before, after

    assert asyncio.run(scenario()) == (1, 2)
    assert fake.sessions == 1


def test_invalidate_and_ttl_pick_up_new_versions(fake):
    cache = PolicyCache(fake.session, ttl=60)

    async def scenario():
        first = (await cache.at(V2_START)).number
        fake.versions.append(snapshot(2, V2_START))
        stale = (await cache.at(V2_START)).number
        cache.invalidate()
        return first, stale, (await cache.at(V2_START)).number

    assert asyncio.run(scenario()) == (1, 1, 2)
    assert fake.sessions == 2


def test_nothing_is_in_force_before_the_first_version(fake):
    cache = PolicyCache(fake.session)

    assert asyncio.run(cache.at(V1_START - timedelta(seconds=1))) is None
    assert asyncio.run(cache.next_change_after(V1_START - timedelta(days=1))) == V1_START


def test_parse_instant_accepts_iso_dates_and_rejects_the_rest():
    assert parse_instant("2026-05-01", "at") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_instant("2026-05-01T05:30:00+05:30", "at") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_instant("2026-05-01T05:30:00 05:30", "at") == datetime(2026, 5, 1, tzinfo=UTC)  # `+` URL-decoded
    assert parse_instant("2026-05-01T00:00:00Z", "at") == datetime(2026, 5, 1, tzinfo=UTC)
    for edge in ("tomorrow", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30"):
        with pytest.raises(BadRequest, match="ISO 8601"):
            parse_instant(edge, "at")


def test_declaration_for_prefers_exact_names():
    declarations = snapshot(1, V1_START)
    assert declarations.declaration_for("cookie", "ms_access").name == "ms_access"
    assert declarations.declaration_for("cookie", "ms_unknown") is None
    assert declarations.declaration_for("local_storage", "ms_access") is None

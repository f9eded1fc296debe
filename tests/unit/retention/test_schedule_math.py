"""Which scheduled slot a purge belongs to, and the purge time setting."""

from datetime import UTC, datetime, time

import pytest

from governance.core.settings import Settings, SettingsError
from governance.retention.scheduler import latest_slot, purge_time, slot_name

DAILY = time(3, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        ("2026-06-15T03:00:00", "2026-06-15T03:00Z"),
        ("2026-06-15T09:30:00", "2026-06-15T03:00Z"),
        ("2026-06-15T02:59:59", "2026-06-14T03:00Z"),
        ("2026-01-01T00:00:00", "2025-12-31T03:00Z"),
    ],
)
def test_a_purge_belongs_to_the_latest_scheduled_time(now, slot):
    assert slot_name(latest_slot(at(now), DAILY)) == slot


def test_the_purge_time_is_hours_and_minutes_in_utc():
    assert purge_time(Settings(purge_at_utc="23:45")) == time(23, 45, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["3am", "24:00", "03:60", "3:00", ""])
def test_a_malformed_purge_time_is_refused_with_the_setting_named(bad):
    with pytest.raises(SettingsError, match="MS_PURGE_AT_UTC"):
        purge_time(Settings(purge_at_utc=bad))

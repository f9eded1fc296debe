"""When scheduled audits run: daily at HH:MM UTC, or every N minutes/hours on slots aligned to the epoch."""

from datetime import UTC, datetime, timedelta

import pytest

from governance.core.settings import Settings, SettingsError
from governance.enforcement.audits import Schedule, slot_name


def test_a_daily_time_has_one_slot_a_day():
    schedule = Schedule.parse("04:30")

    assert schedule.latest_slot(datetime(2026, 6, 15, 4, 29, tzinfo=UTC)) == datetime(2026, 6, 14, 4, 30, tzinfo=UTC)
    assert schedule.latest_slot(datetime(2026, 6, 15, 4, 30, tzinfo=UTC)) == datetime(2026, 6, 15, 4, 30, tzinfo=UTC)
    assert slot_name(datetime(2026, 6, 15, 4, 30, tzinfo=UTC)) == "2026-06-15T04:30Z"
    assert schedule.grace == timedelta(hours=6)


@pytest.mark.parametrize(
    ("text", "every"), [("every 6h", timedelta(hours=6)), ("every 30 minutes", timedelta(minutes=30))]
)
def test_an_interval_has_slots_aligned_to_the_epoch(text, every):
    schedule = Schedule.parse(text)
    at = datetime(2026, 6, 15, 13, 7, tzinfo=UTC)

    slot = schedule.latest_slot(at)

    assert schedule.every == every and slot <= at < slot + every and slot.timestamp() % every.total_seconds() == 0
    assert schedule.grace <= every


@pytest.mark.parametrize("text", ["25:00", "4:30", "every 5m", "every day", "hourly", ""])
def test_a_malformed_schedule_is_a_sentence_naming_the_setting(text):
    with pytest.raises(SettingsError, match="MS_AUDIT_SCHEDULE must be HH:MM"):
        Schedule.parse(text)


def test_audit_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {"MS_DEV_SECRETS_FILE": str(tmp_path / "dev-secrets.json"), "MS_AUDIT_URLS": "https://mailssetu.in/, https://mailssetu.in/pricing", "MS_AUDIT_SCHEDULE": "every 12h",
         "MS_TOKEN_IN_BODY": "true", "MS_TOKEN_IN_BODY_KEY": "dashboard_jwt"},
        env_file=None,
    )  # fmt: skip

    assert settings.audit_urls == ("https://mailssetu.in/", "https://mailssetu.in/pricing")
    assert settings.audit_schedule == "every 12h" and Settings().audit_schedule == "04:00"
    assert (settings.token_in_body, settings.token_in_body_key) == (True, "dashboard_jwt")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MS_AUDIT_URLS", "mailssetu.in", "MS_AUDIT_URLS: list http"),
        ("MS_AUDIT_URLS", "https://ok.example/, ftp://x", "MS_AUDIT_URLS: list http"),
        ("MS_TOKEN_IN_BODY_KEY", "x" * 256, "MS_TOKEN_IN_BODY_KEY: a storage key name"),
    ],
)
def test_malformed_enforcement_settings_stop_the_app_with_a_sentence(name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value}, env_file=None)

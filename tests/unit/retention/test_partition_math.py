"""Month arithmetic and names of partitions."""

from datetime import UTC, date, datetime

import pytest

from governance.retention.partitions import _quote, add_months, month_start, partition_name


@pytest.mark.parametrize(
    ("month", "count", "expected"),
    [
        (date(2026, 11, 1), 3, date(2027, 2, 1)),
        (date(2026, 1, 1), -1, date(2025, 12, 1)),
        (date(2026, 5, 1), -36, date(2023, 5, 1)),
    ],
)
def test_months_add_across_years(month, count, expected):
    assert add_months(month, count) == expected


def test_a_partition_is_named_by_its_month():
    assert (
        partition_name("journey_events", month_start(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)))
        == "journey_events_p202602"
    )


def test_identifiers_outside_plain_names_are_refused():
    with pytest.raises(ValueError, match="identifier"):
        _quote('events"; DROP TABLE users; --')

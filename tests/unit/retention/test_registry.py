"""The registry of data classes: sane defaults and minimums."""

from governance.retention.registry import data_classes


def test_every_default_respects_its_own_minimum():
    for data_class in data_classes().values():
        assert 0 < data_class.minimum_days <= data_class.default_days, data_class.name


def test_the_audit_log_is_kept_seven_years_by_default_and_at_least_five():
    audit_log = data_classes()["audit_log"]
    assert (audit_log.default_days, audit_log.minimum_days) == (7 * 365, 5 * 365)


def test_the_event_tables_are_partitioned_on_postgresql():
    partitioned = {dc.name: dc.partitioning.table for dc in data_classes().values() if dc.partitioning}
    assert partitioned == {"journey_events": "journey_events", "tracking_events": "tracking_events"}

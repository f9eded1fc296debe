"""Request and response bodies of the retention routes."""

from __future__ import annotations

from datetime import datetime

import msgspec

from governance.retention.models import PurgeRun
from governance.retention.service import Preview, Rule


class RetentionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """`{"periods": {"tracking_events": 180, "audit_log": null}}`: days per data class; null restores the default."""

    periods: dict[str, int | None]


class RuleView(msgspec.Struct):
    data_class: str
    description: str
    period_days: int
    default_days: int
    minimum_days: int
    custom: bool
    partitioned_on_postgresql: bool

    @classmethod
    def of(cls, rule: Rule) -> RuleView:
        dc = rule.data_class
        return cls(
            dc.name,
            dc.description,
            rule.period_days,
            dc.default_days,
            dc.minimum_days,
            rule.custom,
            dc.partitioning is not None,
        )


class RetentionView(msgspec.Struct):
    rules: list[RuleView]
    purge_at_utc: str
    scheduler_enabled_here: bool


class PreviewRow(msgspec.Struct):
    data_class: str
    older_than: datetime  # the cutoff a purge now would use
    rows: int


class PreviewView(msgspec.Struct):
    """The dry run: what a purge now would delete, class by class. Nothing is deleted."""

    classes: list[PreviewRow]
    total: int


class PurgeRunView(msgspec.Struct):
    id: int
    slot: str | None
    trigger: str
    actor: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    resumed: int
    cutoffs: dict[str, str]
    deleted: dict[str, int]
    partitions_dropped: list[str]
    error: str | None

    @classmethod
    def of(cls, run: PurgeRun) -> PurgeRunView:
        return cls(
            run.id,
            run.slot,
            run.trigger,
            run.actor,
            run.status,
            run.started_at,
            run.finished_at,
            run.resumed,
            run.cutoffs,
            run.deleted,
            run.partitions_dropped,
            run.error,
        )


RUN_COLUMNS = (
    "id",
    "slot",
    "trigger",
    "actor",
    "status",
    "started_at",
    "finished_at",
    "resumed",
    "cutoffs",
    "deleted",
    "error",
)


def preview_view(previews: list[Preview]) -> PreviewView:
    return PreviewView([PreviewRow(p.name, p.cutoff, p.rows) for p in previews], sum(p.rows for p in previews))

"""Retention rules and the purge job. No HTTP here.

A purge runs under the purge lock (governance.retention.locking), one batch per transaction,
and counts each batch into its purge-run row in that same transaction: killed at any point,
the database holds exactly what was deleted and a run still marked `running`. Whoever takes
the lock next finishes such abandoned runs first, with their original cutoffs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from governance.core import audit
from governance.core.batches import TimedBatches
from governance.core.clock import utcnow as now
from governance.core.errors import Conflict, FieldError, Invalid, NotFound
from governance.retention import partitions
from governance.retention.locking import purge_lock
from governance.retention.models import PurgeRun, RetentionRule
from governance.retention.registry import DataClass, data_classes

log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH_SIZE = 5_000
# SQLite has one write lock, held for a whole batch: batches are sized by time (TimedBatches) so a
# writer never waits much more than this for one (bench/bench_purge.py prints the worst pause).
SQLITE_BATCH_SECONDS = 0.02  # a target well under the 100 ms bound: a slow commit or a busy CPU can take 3-5x
MAX_DAYS = 100 * 365  # keeps every cutoff a valid date
MAX_PAUSE = 0.25  # seconds between two SQLite batches, at most
STOP_WITHIN = 5.0  # seconds a stopping app waits for a running purge to end its batch before cancelling it
DROP_LOCK_TIMEOUT = (
    "2s"  # dropping a partition needs a brief exclusive lock on its parent: never queue behind writers for long
)
DROP_ATTEMPTS = 3
LOCK_NOT_AVAILABLE = "55P03"

Progress = Callable[[str, int], None]


class PurgeBusy(Conflict):
    def __init__(self) -> None:
        super().__init__("a purge is already running; try again when it has finished")


class Paused(Exception):
    """The app is stopping: the batch in progress has committed, the run stays `running`, and
    whoever takes the purge lock next finishes it with its own cutoffs."""


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# --- rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    data_class: DataClass
    period_days: int
    custom: bool

    def cutoff(self, at: datetime) -> datetime:
        return at - timedelta(days=self.period_days)


async def rules(session: AsyncSession) -> list[Rule]:
    chosen = {row.data_class: row.period_days for row in await RetentionRuleService(session=session).get_many()}
    return [Rule(dc, chosen.get(name, dc.default_days), name in chosen) for name, dc in data_classes().items()]


def _period_problem(data_class: DataClass, days: Any) -> str | None:
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        return "the period is a positive whole number of days"
    if days < data_class.minimum_days:
        return f"the period cannot be shorter than {data_class.minimum_days} days"
    if days > MAX_DAYS:
        return f"the period cannot be longer than {MAX_DAYS} days"
    return None


def _period_problem_of(known: dict[str, DataClass], name: str, days: Any) -> str | None:
    if name not in known:
        return f"unknown data class; the classes are {', '.join(known)}"
    return None if days is None else _period_problem(known[name], days)


async def set_periods(session: AsyncSession, periods: dict[str, int | None], *, actor: str) -> list[Rule]:
    """Change periods (None restores the default); all are checked before any is written; each change is audited."""
    known = data_classes()
    if not periods:
        raise Invalid("nothing to change: give `periods` as {data class: days or null}")
    problems = [
        FieldError(f"periods.{name}", problem)
        for name, days in periods.items()
        if (problem := _period_problem_of(known, name, days))
    ]
    if problems:
        raise Invalid(f"{len(problems)} retention period(s) cannot be set", errors=problems)
    current = {rule.data_class.name: rule for rule in await rules(session)}
    stored = RetentionRuleService(session=session)
    for name, days in periods.items():
        old, new = current[name].period_days, days if days is not None else known[name].default_days
        if days is None:
            await stored.delete_where(data_class=name)
        else:
            chosen = {"data_class": name, "period_days": days, "updated_at": now(), "updated_by": actor}
            await stored.upsert(chosen, match_fields=["data_class"])
        if old != new or (days is not None) != current[name].custom:
            await audit.record(
                session,
                actor=actor,
                action="retention.rule",
                subject=name,
                old_days=old,
                new_days=new,
                default=days is None,
            )
    await session.flush()
    return await rules(session)


# --- purge runs ----------------------------------------------------------------------------


class PurgeRunService(SQLAlchemyAsyncRepositoryService[PurgeRun]):
    class Repository(SQLAlchemyAsyncRepository[PurgeRun]):
        model_type = PurgeRun

    repository_type = Repository


class RetentionRuleService(SQLAlchemyAsyncRepositoryService[RetentionRule]):
    class Repository(SQLAlchemyAsyncRepository[RetentionRule]):
        model_type = RetentionRule

    repository_type = Repository


async def runs(session: AsyncSession, page: LimitOffset) -> tuple[list[PurgeRun], int]:
    """One page of the purge log, newest first, and how many runs there are."""
    found, total = await PurgeRunService(session=session).get_many_and_count(page, OrderBy("id", "desc"))
    return list(found), total


@dataclass(frozen=True)
class Preview:
    name: str
    cutoff: datetime
    rows: int


async def preview(session: AsyncSession) -> list[Preview]:
    """The dry run: what a purge now would delete, class by class. Writes nothing."""
    at = now()
    return [
        Preview(r.data_class.name, r.cutoff(at), await r.data_class.count(session, r.cutoff(at)))
        for r in await rules(session)
    ]


async def purge(
    engine: AsyncEngine,
    *,
    trigger: str,
    actor: str,
    slot: str | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    started: Callable[[int], None] | None = None,
    stopping: asyncio.Event | None = None,
) -> PurgeRun | None:
    """Run a purge now. With `slot` (a scheduled time), at most one run ever exists for it:
    returns None when that slot was already claimed. Raises PurgeBusy when another purge holds the lock.
    `started(run_id)` is called once the new run's row exists, before anything is deleted. Once
    `stopping` is set, Paused is raised between two batches."""
    job = _Job(engine, batch_size, progress, stopping)
    async with purge_lock(engine) as held:
        if not held:
            raise PurgeBusy
        await job.finish_abandoned()
        if slot and await job.slot_taken(slot):
            return None
        run_id = await job.start(trigger=trigger, actor=actor, slot=slot)
        if run_id is None:
            return None
        if started is not None:
            started(run_id)
        return await job.execute(run_id)


class Background:
    """Purges started from a request: the request gets the run's id as soon as its row exists and the
    purge goes on in this process's event loop (its row shows the counts as batches commit); and the
    scheduler's purges (`run`). One per app; at shutdown `close` pauses what is still running after
    its current batch (the run stays `running` and is finished by whoever takes the purge lock next,
    as after a crash)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()

    async def start(self, engine: AsyncEngine, *, trigger: str, actor: str) -> int:
        """The new run's id; PurgeBusy when a purge (here or on another instance) holds the lock."""
        begun: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def started(run_id: int) -> None:
            if not begun.done():
                begun.set_result(run_id)

        async def work() -> None:
            try:
                await purge(engine, trigger=trigger, actor=actor, started=started, stopping=self.stopping)
            except Paused:
                return
            except Exception as exc:
                if not begun.done():
                    begun.set_exception(exc)
                    return
                log.exception("background purge failed")
            if not begun.done():  # only a scheduled slot can be found taken; kept for completeness
                begun.set_exception(PurgeBusy())

        task = asyncio.create_task(work(), name="retention.purge")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return await asyncio.shield(begun)

    async def run(self, work: Callable[[asyncio.Event], Awaitable[T]]) -> T | None:
        """`work(stopping)` in the calling task (a scheduler's job), paused at shutdown like the
        purges started from requests: None when it was."""
        task = asyncio.current_task()
        assert task is not None, "called from a task"
        self.tasks.add(task)
        try:
            return await work(self.stopping)
        except Paused:
            return None
        finally:
            self.tasks.discard(task)

    async def close(self) -> None:
        """Let each run end its batch in progress rather than cancel it mid-statement (a cancelled
        driver call can leave its connection, and SQLite's write lock, to the garbage collector);
        cancel only what has not paused within STOP_WITHIN seconds."""
        self.stopping.set()
        if self.tasks:
            _, late = await asyncio.wait(set(self.tasks), timeout=STOP_WITHIN)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.stopping = asyncio.Event()  # the app may be started again (tests)


async def run(session: AsyncSession, run_id: int) -> PurgeRun:
    found = await session.get(PurgeRun, run_id)
    if found is None:
        raise NotFound(f"no purge run {run_id}")
    return found


async def resume_abandoned(
    engine: AsyncEngine, *, batch_size: int | None = None, stopping: asyncio.Event | None = None
) -> list[int]:
    """Finish runs whose owner died; a no-op while another purge holds the lock."""
    job = _Job(engine, batch_size, None, stopping)
    async with purge_lock(engine) as held:
        return await job.finish_abandoned() if held else []


class _Job:
    def __init__(
        self,
        engine: AsyncEngine,
        batch_size: int | None,
        progress: Progress | None,
        stopping: asyncio.Event | None,
    ) -> None:
        if batch_size is not None and batch_size <= 0:
            raise Invalid("the batch size must be positive")
        self.batch_size = batch_size  # None: BATCH_SIZE rows on PostgreSQL, sized by time on SQLite
        self.engine, self.progress, self.stopping = engine, progress, stopping
        self.sessions = sessions(engine)
        self.partitioned = engine.dialect.name == "postgresql"
        self.single_writer = engine.dialect.name == "sqlite"

    async def finish_abandoned(self) -> list[int]:
        """Called with the lock held: a run still `running` lost its owner. Finish it with its own cutoffs."""
        async with self.sessions() as session:
            run_ids = list(
                await session.scalars(select(PurgeRun.id).where(PurgeRun.status == "running").order_by(PurgeRun.id))
            )
        for run_id in run_ids:
            log.warning("resuming purge run %s, abandoned by a crashed instance", run_id)
            await self.execute(run_id, resumed=True)
        return run_ids

    async def slot_taken(self, slot: str) -> bool:
        async with self.sessions() as session:
            return await session.scalar(select(PurgeRun.id).where(PurgeRun.slot == slot)) is not None

    async def start(self, *, trigger: str, actor: str, slot: str | None) -> int | None:
        try:
            async with self.sessions() as session, session.begin():
                at = now()
                cutoffs = {r.data_class.name: r.cutoff(at).isoformat() for r in await rules(session)}
                run = PurgeRun(
                    slot=slot,
                    trigger=trigger,
                    actor=actor,
                    status="running",
                    started_at=at,
                    resumed=0,
                    cutoffs=cutoffs,
                    deleted=dict.fromkeys(cutoffs, 0),
                    partitions_dropped=[],
                )
                session.add(run)
                await session.flush()
                return run.id
        except IntegrityError:  # another instance claimed this slot first
            return None

    async def execute(self, run_id: int, *, resumed: bool = False) -> PurgeRun:
        async with self.sessions() as session, session.begin():
            run = await session.get_one(PurgeRun, run_id)
            if resumed:
                run.resumed += 1
            cutoffs = {name: datetime.fromisoformat(iso) for name, iso in run.cutoffs.items()}
        try:
            # Registry order (children before parents), not the row's: JSONB does not keep key order.
            # A class added since the run started waits for the next run.
            for name, data_class in data_classes().items():
                if name in cutoffs:
                    await self._purge_class(run_id, data_class, cutoffs[name])
        except Paused:
            log.info("purge run %s paused: the app is stopping; the next purge finishes it", run_id)
            raise
        except Exception as exc:
            log.exception("purge run %s failed", run_id)
            return await self._finish(run_id, "failed", f"{exc.__class__.__name__}: {exc}")
        return await self._finish(run_id, "succeeded", None)

    async def _purge_class(self, run_id: int, data_class: DataClass, cutoff: datetime) -> None:
        if self.partitioned and data_class.partitioning:
            await self._drop_expired_partitions(run_id, data_class, cutoff)
        timed = TimedBatches(SQLITE_BATCH_SECONDS) if self.single_writer and self.batch_size is None else None
        while True:
            if self.stopping is not None and self.stopping.is_set():
                raise Paused
            limit = timed.size if timed else self.batch_size or BATCH_SIZE
            started = time.perf_counter()
            async with self.sessions() as session, session.begin():
                rows = await data_class.purge(session, cutoff, limit)
                if rows:
                    await self._count(session, run_id, data_class.name, rows)
            held = time.perf_counter() - started
            if timed:
                timed.took(rows, held)
            if self.progress and rows:
                self.progress(data_class.name, rows)
            if rows < limit:
                return
            if self.single_writer:  # SQLite has one write lock: leave it free as long as we held it
                await self._checkpoint()
                await asyncio.sleep(min(held, MAX_PAUSE))

    async def _checkpoint(self) -> None:
        """Copy the batch's pages from the WAL into the database now, from this connection (PASSIVE:
        writers go on meanwhile), rather than leave the work to the next writer whose commit crosses
        the auto-checkpoint threshold, which would pay for the purge's pages with a pause of its own."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def _drop_expired_partitions(self, run_id: int, data_class: DataClass, cutoff: datetime) -> None:
        table, column = data_class.partitioning.table, data_class.partitioning.column  # type: ignore[union-attr]
        async with self.sessions() as session, session.begin():
            if not await session.run_sync(lambda s: partitions.is_partitioned(s.connection(), table)):
                return
            await session.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
            await session.run_sync(lambda s: partitions.ensure_partitions(s.connection(), table, column, now()))
            expired = await session.run_sync(lambda s: partitions.expired_partitions(s.connection(), table, cutoff))
        for name in expired:
            await self._drop_partition(run_id, data_class.name, name)

    async def _drop_partition(self, run_id: int, class_name: str, partition: str) -> None:
        for attempt in range(1, DROP_ATTEMPTS + 1):
            try:
                async with self.sessions() as session, session.begin():
                    await session.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
                    rows = await session.run_sync(lambda s: partitions.drop_partition(s.connection(), partition))
                    await self._count(session, run_id, class_name, rows, dropped=partition)
                if self.progress and rows:
                    self.progress(class_name, rows)
                return
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                if attempt == DROP_ATTEMPTS:
                    log.warning("partition %s stayed busy; its rows go by batched deletes instead", partition)
                    return
                await asyncio.sleep(attempt)

    async def _count(
        self, session: AsyncSession, run_id: int, class_name: str, rows: int, dropped: str | None = None
    ) -> None:
        """Counted in the batch's own transaction: the count and the deletion commit or vanish together."""
        run = await session.get_one(PurgeRun, run_id)
        run.deleted = {**run.deleted, class_name: run.deleted.get(class_name, 0) + rows}
        if dropped:
            run.partitions_dropped = [*run.partitions_dropped, dropped]

    async def _finish(self, run_id: int, status: str, error: str | None) -> PurgeRun:
        async with self.sessions() as session, session.begin():
            run = await session.get_one(PurgeRun, run_id)
            run.status, run.error, run.finished_at = status, error, now()
            await audit.record(
                session,
                actor=run.actor,
                action="retention.purge",
                subject=f"purge run {run.id}",
                status=status,
                deleted=run.deleted,
                slot=run.slot,
                error=error,
            )
        return run

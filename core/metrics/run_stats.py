"""What the runs of each group came to: counts, failures, waits and run times.

Counted over runs that *finished* in a time range and had a slot (a request
turned away never ran). Percentiles are nearest-rank, computed in the
database with window functions (``row_number`` against the group's
``count``), which SQLite and PostgreSQL both have, so only one row per group
comes back however many runs there were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from core.groups.rules import group_sort_key
from core.metrics.sql import seconds_between
from db.models import RunStatus, TaskRun

RUNS = TaskRun.__table__.c
"""The run table's columns as SQL expressions (the model's attributes are typed as values)."""

FAILED_STATUSES = (RunStatus.FAILED, RunStatus.LOST)
RAN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.LOST)


@dataclass(frozen=True)
class RunCounts:
    runs: int
    failures: int


@dataclass(frozen=True)
class Percentiles:
    p50_s: float | None
    p95_s: float | None


@dataclass(frozen=True)
class GroupRunStats:
    """One group's runs over a time range."""

    group: str
    runs: int
    failures: int
    runs_per_hour: float
    wait: Percentiles
    run: Percentiles


def _finished_between(since: datetime, until: datetime | None):
    conditions = [
        RUNS.status.in_(RAN_STATUSES),
        RUNS.started_at.is_not(None),
        RUNS.finished_at >= since,
    ]
    if until is not None:
        conditions.append(RUNS.finished_at < until)
    return conditions


def run_counts(
    engine: Engine, since: datetime, until: datetime | None = None
) -> dict[str, RunCounts]:
    """Per group: runs that finished since ``since``, and how many of them failed."""
    failed = func.sum(case((RUNS.status.in_(FAILED_STATUSES), 1), else_=0))
    statement = (
        select(RUNS.group_name, func.count(), failed)
        .where(*_finished_between(since, until))
        .group_by(RUNS.group_name)
    )
    with Session(engine) as session:
        return {
            group: RunCounts(int(runs), int(failures or 0))
            for group, runs, failures in session.exec(statement)
        }


def duration_percentiles(
    engine: Engine,
    start: ColumnElement,
    end: ColumnElement,
    since: datetime,
    until: datetime,
    quantiles: Sequence[float] = (0.5, 0.95),
) -> dict[str, list[float | None]]:
    """Per group, the nearest-rank ``quantiles`` of ``end - start`` in seconds, in SQL."""
    seconds = seconds_between(start, end, engine.dialect.name)
    ranked = (
        select(
            RUNS.group_name.label("group_name"),
            seconds.label("seconds"),
            func.row_number().over(partition_by=RUNS.group_name, order_by=seconds).label("rank"),
            func.count().over(partition_by=RUNS.group_name).label("total"),
        )
        .where(*_finished_between(since, until))
        .subquery()
    )
    picks = [
        func.min(case((ranked.c.rank >= ranked.c.total * q, ranked.c.seconds))) for q in quantiles
    ]
    statement = select(ranked.c.group_name, *picks).group_by(ranked.c.group_name)
    with Session(engine) as session:
        return {
            row[0]: [None if v is None else max(0.0, float(v)) for v in row[1:]]
            for row in session.exec(statement)
        }


def run_stats(engine: Engine, since: datetime, until: datetime) -> list[GroupRunStats]:
    """Counts, throughput and wait/run-time percentiles per group, by group name."""
    counts = run_counts(engine, since, until)
    waits = duration_percentiles(engine, RUNS.enqueued_at, RUNS.started_at, since, until)
    runs = duration_percentiles(engine, RUNS.started_at, RUNS.finished_at, since, until)
    hours = max((until - since).total_seconds() / 3600, 1e-9)
    return [
        GroupRunStats(
            group=group,
            runs=count.runs,
            failures=count.failures,
            runs_per_hour=count.runs / hours,
            wait=Percentiles(*waits.get(group, (None, None))),
            run=Percentiles(*runs.get(group, (None, None))),
        )
        for group, count in sorted(counts.items(), key=lambda item: group_sort_key(item[0]))
    ]


@dataclass(frozen=True)
class RunRow:
    """One request as the history table shows it."""

    id: str
    group: str
    task: str
    owner: str
    status: str
    enqueued_at: datetime
    wait_s: float | None
    run_s: float | None
    error: str | None
    source: str = "page"
    """How it was asked for: "page" or "api" (an API token)."""


def _between(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else max(0.0, (end - start).total_seconds())


def runs_since(
    engine: Engine,
    since: datetime,
    *,
    groups: list[str] | None = None,
    statuses: Sequence[str] | None = None,
    limit: int = 200,
) -> list[RunRow]:
    """The newest ``limit`` requests made since ``since``, optionally of some groups/statuses."""
    statement = select(TaskRun).where(RUNS.enqueued_at >= since)
    if groups:
        statement = statement.where(RUNS.group_name.in_(groups))
    if statuses:
        statement = statement.where(RUNS.status.in_(statuses))
    statement = statement.order_by(RUNS.enqueued_at.desc()).limit(limit)
    with Session(engine) as session:
        rows = session.exec(statement).all()
    return [
        RunRow(
            id=row.id,
            group=row.group_name,
            task=row.task,
            owner=row.owner,
            status=row.status,
            enqueued_at=row.enqueued_at,
            wait_s=_between(row.enqueued_at, row.started_at or row.finished_at),
            run_s=_between(row.started_at, row.finished_at),
            error=row.error,
            source=row.source,
        )
        for row in rows
    ]

"""What the queue ETA needs from ``task_run``: the lines of runs ahead, and typical durations.

``typical`` is the median of the latest finished (succeeded) runs of a task
with the same settings, else of the task with any settings; None for a task
never finished. A median, not a mean: one run that waited on a cold cache
or a busy GPU does not move it. Durations are read for a set of tasks in
one query and cached by the watcher for ``TYPICAL_TTL_S``: they change
only when runs finish. A task with no finished run yet is looked up again
sooner (core/run_watch.py), so the waiters behind its first run get an
estimate once that run ends.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from core.limiter.queue_eta import RunningRun, estimate_waits
from core.runs.sql import QUEUE_ORDER
from db.models import ACTIVE_STATUSES, RunStatus, TaskRun, group_name_key

RUNS = TaskRun.__table__
RECENT = 10
"""Finished runs per task and settings that make a typical duration."""
READ_AT_MOST = 2000
TYPICAL_TTL_S = 10.0


def settings_key(params: Mapping[str, Any] | None) -> str:
    return json.dumps(params or {}, sort_keys=True, default=str)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass
class Typical:
    by_settings: dict[tuple[str, str], float] = field(default_factory=dict)
    by_task: dict[str, float] = field(default_factory=dict)

    def of(self, task: str, params: Mapping[str, Any] | None) -> float | None:
        found = self.by_settings.get((task, settings_key(params)))
        return found if found is not None else self.by_task.get(task)

    def merged(self, newer: Typical) -> Typical:
        """These durations, with ``newer``'s where both know a task or its settings."""
        return Typical({**self.by_settings, **newer.by_settings}, {**self.by_task, **newer.by_task})


def typical_durations(connection: Connection, tasks: Iterable[str]) -> Typical:
    wanted = sorted(set(tasks))
    if not wanted:
        return Typical()
    rows = connection.execute(
        select(RUNS.c.task, RUNS.c.params, RUNS.c.started_at, RUNS.c.finished_at)
        .where(
            RUNS.c.task.in_(wanted),
            RUNS.c.status == RunStatus.SUCCEEDED,
            RUNS.c.started_at.is_not(None),
            RUNS.c.finished_at.is_not(None),
        )
        .order_by(RUNS.c.finished_at.desc())
        .limit(READ_AT_MOST)
    ).all()
    by_settings: dict[tuple[str, str], list[float]] = defaultdict(list)
    by_task: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        seconds = (_aware(row.finished_at) - _aware(row.started_at)).total_seconds()
        key = (row.task, settings_key(row.params))
        if len(by_settings[key]) < RECENT:
            by_settings[key].append(seconds)
        if len(by_task[row.task]) < RECENT:
            by_task[row.task].append(seconds)
    return Typical(
        {key: statistics.median(values) for key, values in by_settings.items()},
        {key: statistics.median(values) for key, values in by_task.items()},
    )


@dataclass(frozen=True)
class Line:
    """One group right now: the runs holding its slots, and its waiting runs, head first."""

    running: list[Any]
    queued: list[Any]

    @property
    def queued_ids(self) -> list[str]:
        return [row.id for row in self.queued]


def lines(connection: Connection, groups: Iterable[str]) -> dict[str, Line]:
    """Each group's line (keyed by ``group_name_key``): who runs, who waits in which order."""
    keys = sorted({group_name_key(group) for group in groups})
    if not keys:
        return {}
    rows = connection.execute(
        select(
            RUNS.c.group_key,
            RUNS.c.id,
            RUNS.c.status,
            RUNS.c.task,
            RUNS.c.params,
            RUNS.c.started_at,
            RUNS.c.progress_fraction,
            RUNS.c.worker_id,
        )
        .where(RUNS.c.status.in_(ACTIVE_STATUSES), RUNS.c.group_key.in_(keys))
        .order_by(*QUEUE_ORDER)
    ).all()
    out: dict[str, Line] = {}
    for row in rows:
        line = out.setdefault(row.group_key, Line([], []))
        (line.queued if row.worker_id is None else line.running).append(row)
    return out


def line_waits(line: Line, slots: int, typical: Typical, now: datetime) -> list[float | None]:
    """Seconds until each queued run of ``line`` can expect a slot, head first; None: unknown.

    One more entry than the line has runs: the wait of a run behind all of
    them (one the line's read just missed).
    """
    running = [
        RunningRun(
            elapsed_s=(now - _aware(row.started_at)).total_seconds() if row.started_at else 0.0,
            typical_s=typical.of(row.task, row.params),
            fraction=row.progress_fraction,
        )
        for row in line.running
    ]
    queued = [typical.of(row.task, row.params) for row in line.queued]
    return estimate_waits(running, [*queued, None], slots)

"""Every group as people see it: the limiter's settings and slots, the durable queue's length.

The dispatcher claims only the runs that can start soon (core/worker/claims.py),
so a limiter's own queue holds the few runs at the head of a long one. What
shows or records a group's queue (Home, the admin's live view and group
editor, the occupancy sampler) reads ``GroupView.snapshot`` instead: the
limiter's snapshot with ``queued`` and ``oldest_wait_s`` counted from
``task_run``, in one aggregate query that is reused for ``READ_EVERY_S``, so
200 pages refreshing cost a few queries a second, not 200.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, func, select

from core.limiter import GroupSnapshot
from db.models import TaskRun, group_name_key

RUNS = TaskRun.__table__

READ_EVERY_S = 0.25
"""How long one count of the queues is reused; about as stale as the run watcher's views."""


class Snapshots(Protocol):
    """Whatever hands out every group's occupancy: a limiter, or a ``GroupView``."""

    def snapshot(self) -> dict[str, GroupSnapshot]: ...


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class GroupView:
    """``snapshot()`` of ``limiter`` with each group's queue counted from the durable runs."""

    def __init__(
        self,
        limiter: Snapshots,
        engine: Engine,
        read_every_s: float = READ_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = limiter
        self._engine = engine
        self._read_every_s = read_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._queues: dict[str, tuple[int, datetime | None]] = {}
        self._read_at = -float("inf")

    def snapshot(self) -> dict[str, GroupSnapshot]:
        queues = self._current_queues()
        now = datetime.now(UTC)
        shown = {}
        for name, group in self._limiter.snapshot().items():
            count, oldest = queues.get(group_name_key(name), (0, None))
            if oldest is not None and count > group.queued:  # the limiter's waiters are rows too
                group = dataclasses.replace(
                    group,
                    queued=count,
                    oldest_wait_s=max(0.0, (now - oldest).total_seconds()),
                )
            shown[name] = group
        return shown

    def _current_queues(self) -> dict[str, tuple[int, datetime | None]]:
        with self._lock:
            if self._clock() - self._read_at < self._read_every_s:
                return self._queues
            with self._engine.connect() as connection:
                rows = connection.execute(
                    select(RUNS.c.group_key, func.count(), func.min(RUNS.c.enqueued_at))
                    .where(RUNS.c.status == "queued")
                    .group_by(RUNS.c.group_key)
                ).all()
            self._queues = {key: (count, _utc(oldest)) for key, count, oldest in rows}
            self._read_at = self._clock()
            return self._queues

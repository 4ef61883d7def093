"""Every group as people see it: its settings and how many runs hold or wait for its slots.

Read from the one queue: the groups' rows and one aggregate over the active
runs, reused for ``READ_EVERY_S``, so 200 pages refreshing cost a few queries
a second, not 200. Home, the admin's live view and group editor, and the
occupancy sampler read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from core.limiter import GroupSnapshot
from core.limiter.config import settings_of
from core.runs import sql
from db.models import ACTIVE_STATUSES

READ_EVERY_S = 0.25
"""How long one read is reused; about as stale as the run watcher's views."""


class Occupancy:
    """``snapshot()``: every group by name, as of at most ``read_every_s`` ago."""

    def __init__(
        self,
        engine: Engine,
        read_every_s: float = READ_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._read_every_s = read_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: dict[str, GroupSnapshot] = {}
        self._read_at = -float("inf")

    def snapshot(self) -> dict[str, GroupSnapshot]:
        with self._lock:
            if self._clock() - self._read_at >= self._read_every_s:
                self._snapshot = self._read()
                self._read_at = self._clock()
            return self._snapshot

    def fresh(self) -> dict[str, GroupSnapshot]:
        """Read now (after a change this process made and must show at once)."""
        self.invalidate()
        return self.snapshot()

    def invalidate(self) -> None:
        """The next ``snapshot`` reads again: a group changed."""
        with self._lock:
            self._read_at = -float("inf")

    def _read(self) -> dict[str, GroupSnapshot]:
        runs = sql.RUNS
        with self._engine.connect() as connection:
            configs = sql.group_configs(connection)
            rows = connection.execute(
                select(
                    runs.c.group_key,
                    func.count().filter(runs.c.worker_id.is_not(None)),
                    func.count().filter(sql.WAITING),
                    func.min(runs.c.enqueued_at).filter(sql.WAITING),
                )
                .where(runs.c.status.in_(ACTIVE_STATUSES))
                .group_by(runs.c.group_key)
            ).all()
        counts = {key: (holding, waiting, oldest) for key, holding, waiting, oldest in rows}
        now = datetime.now(UTC)
        snapshot = {}
        for key, config in configs.items():
            holding, waiting, oldest = counts.get(key, (0, 0, None))
            snapshot[config.name] = GroupSnapshot(
                name=config.name,
                version=config.version,
                **settings_of(config),
                running=holding,
                queued=waiting,
                oldest_wait_s=(
                    None if oldest is None else max(0.0, (now - sql.utc(oldest)).total_seconds())
                ),
            )
        return snapshot

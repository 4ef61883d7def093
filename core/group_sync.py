"""Keeping the process's limiter in step with the ``concurrency_group`` table.

Edits made in this process call ``refresh()`` and apply at once. Edits made
by another process, or by hand in the database, are found by ``poll()``,
which the scheduler calls every second: it reads one aggregate row (a
fingerprint of the table) and reloads only when that changed, so an idle
fleet costs one tiny query per process per second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from core.limiter import GroupConfig, LimiterBackend
from core.limiter.config import config_of
from db.models import ConcurrencyGroup, TaskRun, group_name_key

log = logging.getLogger(__name__)

# How many recent runs seed a group's ETA estimate at start-up.
_ETA_SEED_RUNS = 20


class GroupSync:
    """Applies the database's group configs to a limiter, cheaply and thread-safely."""

    def __init__(self, engine: Engine, limiter: LimiterBackend) -> None:
        self._engine = engine
        self._limiter = limiter
        self._lock = threading.Lock()
        self._fingerprint: tuple | None = None
        # Only groups this sync has seen in the database may be removed from the
        # limiter: a group created on first use is not in the table until the
        # run recorder has written it, and must not be removed meanwhile.
        self._known: set[str] = set()

    def _read_fingerprint(self, session: Session) -> tuple:
        return tuple(
            session.exec(
                select(
                    func.count(col(ConcurrencyGroup.id)),
                    func.sum(ConcurrencyGroup.version),
                    func.max(ConcurrencyGroup.id),
                    func.max(ConcurrencyGroup.updated_at),
                )
            ).one()
        )

    def poll(self) -> bool:
        """Reload if the table changed since the last load; True if it did."""
        with Session(self._engine) as session:
            if self._read_fingerprint(session) == self._fingerprint:
                return False
        self.refresh()
        return True

    def refresh(self) -> None:
        """Load every group's config from the database into the limiter now."""
        with self._lock, Session(self._engine) as session:
            fingerprint = self._read_fingerprint(session)
            rows = session.exec(select(ConcurrencyGroup)).all()
            self._apply(config_of(row) for row in rows)
            self._fingerprint = fingerprint

    def _apply(self, configs: Iterable[GroupConfig]) -> None:
        current = {config.name.casefold(): config for config in configs}
        live = {config.name.casefold(): config for config in self._limiter.groups()}
        for key, config in current.items():
            if live.get(key) != config:
                self._limiter.configure(config)
        for key in self._known - current.keys():
            if key in live:
                log.info("group %s was deleted in the database; removing it", live[key].name)
                self._limiter.remove(live[key].name)
        self._known = set(current)

    def seed_durations(self) -> None:
        """Give each group's ETA estimator the mean of its recent successful runs."""
        with Session(self._engine) as session:
            for config in self._limiter.groups():
                rows = session.exec(
                    select(TaskRun.started_at, TaskRun.finished_at)
                    .where(
                        TaskRun.group_key == group_name_key(config.name),
                        TaskRun.status == "succeeded",
                        col(TaskRun.started_at).is_not(None),
                    )
                    .order_by(col(TaskRun.finished_at).desc())
                    .limit(_ETA_SEED_RUNS)
                ).all()
                durations = [(end - start).total_seconds() for start, end in rows if start and end]
                if durations:
                    self._limiter.seed_duration(config.name, sum(durations) / len(durations))

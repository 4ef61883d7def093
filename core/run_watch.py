"""What pages show of durable runs, read by one thread per web process and handed to waiters.

A page waiting on a run does not poll the database: its script thread calls
``RunWatcher.wait`` with what it last showed and blocks (with a slow
timeout, so it can pass Streamlit's stop check). One watcher thread reads
every watched run in one query every ``interval_s``, and the queue order of
the groups those runs wait in in a second, and wakes a waiter only when
something it shows changed: status, queue position, the ETA (rounded),
progress (to the percent) or its message. 200 pages watching cost two
queries per interval, not 200.

When nothing read differs from the last look, the views are not rebuilt (ETAs
are recomputed at most every ``ETA_REFRESH_S``), and the next look comes
later, doubling up to ``QUIET_INTERVAL_S``: a paused or slow queue of 200
watched runs is read about once a second, a moving one every ``interval_s``
(any change brings the fast pace back). Runs nobody waited on for
``forget_after_s`` are no longer read.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import Engine, select

from core import run_durations
from core.limiter import GroupSnapshot
from db.models import RunStatus, TaskRun, group_name_key

log = logging.getLogger(__name__)

RUNS = TaskRun.__table__

WATCH_INTERVAL_S = 0.25
QUIET_INTERVAL_S = 1.0
"""Slowest pace of the reads while nothing watched changes: a change shows within this."""
FORGET_AFTER_S = 10.0
UNTIMED_TTL_S = 1.0
"""How often a task without typical durations is read again, so its first run's end shows."""
ETA_REFRESH_S = 1.0
"""ETAs drift with time even when nothing is read differently: recompute them this often."""

_COLUMNS = (
    RUNS.c.id,
    RUNS.c.task,
    RUNS.c.group_name,
    RUNS.c.owner,
    RUNS.c.status,
    RUNS.c.params,
    RUNS.c.enqueued_at,
    RUNS.c.started_at,
    RUNS.c.finished_at,
    RUNS.c.progress_fraction,
    RUNS.c.progress_message,
    RUNS.c.device,
    RUNS.c.error,
    RUNS.c.cancel_requested_at,
    RUNS.c.admin_note,
    RUNS.c.worker_id,
)


@overload
def _aware(moment: datetime) -> datetime: ...


@overload
def _aware(moment: datetime | None) -> datetime | None: ...


def _aware(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without a time zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _eta_bucket(eta_s: float | None) -> float | None:
    """Round an estimate to what a person can tell apart: 5 s under a minute, else minutes."""
    if eta_s is None:
        return None
    if eta_s < 60:
        return 5.0 * math.ceil(eta_s / 5)
    return 60.0 * math.ceil(eta_s / 60)


@dataclass(frozen=True)
class RunView:
    """One run as a page shows it; ``position`` and ``queued`` only while queued."""

    id: str
    task: str
    group: str
    owner: str
    status: str
    params: Mapping[str, Any]
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_fraction: float | None
    progress_message: str | None
    device: str
    error: str | None
    cancel_requested: bool
    granted: bool = False
    """Queued, but granted a slot: its body is starting (it has no place in the queue)."""
    position: int | None = None
    queued: int | None = None
    paused: bool = False
    eta_s: float | None = None
    admin_note: str | None = None
    """The latest admin action on the run, in its owner's words (core/runs/admin.py)."""
    queue_timeout_s: float | None = None
    """The group's queue timeout, while queued (None: the wait has no limit)."""
    timeout_first: bool = False
    """Queued, and the queue timeout will end the wait before the estimate says a slot frees."""

    @property
    def active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    def shown(self) -> tuple:
        """What a page draws from this view: a waiter wakes when this changes."""
        fraction = None if self.progress_fraction is None else round(self.progress_fraction, 2)
        return (
            self.status,
            self.granted,
            self.position,
            self.queued,
            self.paused,
            self.eta_s,
            fraction,
            self.progress_message,
            self.device,
            self.cancel_requested,
            self.admin_note,
            self.timeout_first,
        )


def read_views(connection, run_ids: Iterable[str]) -> dict[str, RunView]:
    """The runs ``run_ids`` (without queue positions) in one query."""
    ids = list(run_ids)
    if not ids:
        return {}
    rows = connection.execute(select(*_COLUMNS).where(RUNS.c.id.in_(ids))).all()
    return {
        row.id: RunView(
            id=row.id,
            task=row.task,
            group=row.group_name,
            owner=row.owner,
            status=row.status,
            params=dict(row.params or {}),
            enqueued_at=_aware(row.enqueued_at),
            started_at=_aware(row.started_at),
            finished_at=_aware(row.finished_at),
            progress_fraction=row.progress_fraction,
            progress_message=row.progress_message,
            device=row.device,
            error=row.error,
            cancel_requested=row.cancel_requested_at is not None,
            admin_note=row.admin_note,
            granted=row.worker_id is not None,
        )
        for row in rows
    }


@dataclass(frozen=True)
class _LinePlaces:
    """One group's line as its waiters see it: positions and ETAs, computed once for all."""

    positions: Mapping[str, int]
    etas: Sequence[float | None]
    """Rounded ETA by position - 1, one more than the line holds (see ``line_waits``)."""
    paused: bool
    queue_timeout_s: float | None = None

    @classmethod
    def of(
        cls,
        line: run_durations.Line,
        group: GroupSnapshot | None,
        typical: run_durations.Typical,
        now: datetime,
    ) -> _LinePlaces:
        positions = {row.id: index for index, row in enumerate(line.queued, start=1)}
        paused = bool(group and group.paused)
        if group is None or paused:
            etas: list[float | None] = [None] * (len(positions) + 1)
        else:
            waits = run_durations.line_waits(line, group.limit, typical, now)
            etas = [_eta_bucket(wait) for wait in waits]
        return cls(positions, etas, paused, group.queue_timeout_s if group else None)


def _placed(view: RunView, places: Mapping[str, _LinePlaces], now: datetime) -> RunView:
    """``view`` with its place in its group's line, if it is queued.

    The count includes the run itself (a run the line was read without still
    counts: never "position 1 of 0"), and ``timeout_first`` says whether the
    group's queue timeout, counted from the submit, comes before the estimate.
    """
    if view.status != RunStatus.QUEUED or view.granted:
        return view
    place = places.get(group_name_key(view.group))
    if place is None:
        place = _LinePlaces({}, [None], False)
    position = place.positions.get(view.id, len(place.positions) + 1)
    queued = max(len(place.positions), position)
    eta_s = place.etas[position - 1] if position - 1 < len(place.etas) else None
    timeout_first = False
    if place.queue_timeout_s is not None and (place.paused or eta_s is not None):
        left_s = place.queue_timeout_s - (now - view.enqueued_at).total_seconds()
        timeout_first = place.paused or (eta_s is not None and eta_s > left_s)
    return RunView(
        **{
            **view.__dict__,
            "position": position,
            "queued": queued,
            "paused": place.paused,
            "eta_s": eta_s,
            "queue_timeout_s": place.queue_timeout_s,
            "timeout_first": timeout_first,
        }
    )


class RunWatcher:
    """One thread that keeps the watched runs' views fresh and wakes whoever waits on them."""

    def __init__(
        self,
        engine: Engine,
        groups: Callable[[], Mapping[str, GroupSnapshot]],
        interval_s: float = WATCH_INTERVAL_S,
        forget_after_s: float = FORGET_AFTER_S,
    ) -> None:
        self._engine = engine
        self._groups = groups
        self._interval_s = interval_s
        self._forget_after_s = forget_after_s
        self._lock = threading.Lock()
        self._views: dict[str, RunView] = {}
        self._wanted: dict[str, float] = {}
        self._waiters: dict[str, set[threading.Event]] = {}
        self._something_watched = threading.Event()
        self._closed = threading.Event()
        self._typical = run_durations.Typical()
        self._typical_read_at: dict[str, float] = {}
        """When each task's typical durations were last read (monotonic)."""
        self._thread = threading.Thread(target=self._loop, name="taskgate-run-watch", daemon=True)
        self._thread.start()

    def view(self, run_id: str) -> RunView | None:
        """The run as the watcher last saw it, reading it now if it was not watched."""
        return self.views([run_id]).get(run_id)

    def views(self, run_ids: Iterable[str]) -> dict[str, RunView]:
        """The runs as last seen, without waiting; those not watched yet are read now, once."""
        return self.wait(run_ids, {}, 0.0)

    def wait(
        self,
        run_ids: Iterable[str],
        seen: Mapping[str, tuple],
        timeout_s: float,
        wakeup: threading.Event | None = None,
    ) -> dict[str, RunView]:
        """Block until one of ``run_ids`` shows something other than ``seen``, or the timeout.

        ``seen`` maps run ids to the ``RunView.shown()`` last drawn (absent:
        nothing drawn yet). ``wakeup`` is an event someone else may also set
        to end the wait early (a page's stop check, core/ui/stop_check.py);
        it is cleared first. Returns the current views of those runs that exist.
        """
        ids = list(run_ids)
        if wakeup is None:
            wakeup = threading.Event()
        wakeup.clear()
        now = time.monotonic()
        with self._lock:
            unknown = [run_id for run_id in ids if run_id not in self._views]
        if unknown:
            fresh = self._read(unknown)
            with self._lock:
                for run_id, view in fresh.items():
                    self._views.setdefault(run_id, view)
        with self._lock:
            for run_id in ids:
                self._wanted[run_id] = now
                self._waiters.setdefault(run_id, set()).add(wakeup)
            changed = any(self._differs(run_id, seen) for run_id in ids)
        self._something_watched.set()
        try:
            if not changed and timeout_s > 0:
                wakeup.wait(timeout_s)
        finally:
            with self._lock:
                for run_id in ids:
                    waiting = self._waiters.get(run_id)
                    if waiting is not None:
                        waiting.discard(wakeup)
        with self._lock:
            return {run_id: self._views[run_id] for run_id in ids if run_id in self._views}

    def close(self) -> None:
        self._closed.set()
        self._something_watched.set()
        self._thread.join(2)

    # internals -------------------------------------------------------------------
    def _differs(self, run_id: str, seen: Mapping[str, tuple]) -> bool:
        view = self._views.get(run_id)
        return view is not None and seen.get(run_id) != view.shown()

    def _read(self, run_ids: list[str]) -> dict[str, RunView]:
        with self._engine.connect() as connection:
            views = read_views(connection, run_ids)
            lines = self._lines(connection, views)
        return self._place_all(views, lines)

    def _lines(self, connection, views: Mapping[str, RunView]) -> dict[str, run_durations.Line]:
        """The lines of the groups the queued ``views`` wait in; typical durations if stale."""
        queued_in = {view.group for view in views.values() if view.status == RunStatus.QUEUED}
        lines = run_durations.lines(connection, queued_in)
        tasks = {row.task for line in lines.values() for row in line.running + line.queued}
        now = time.monotonic()
        stale = [
            task
            for task in tasks
            if now - self._typical_read_at.get(task, -math.inf)
            > (run_durations.TYPICAL_TTL_S if task in self._typical.by_task else UNTIMED_TTL_S)
        ]
        if stale:
            self._typical = self._typical.merged(run_durations.typical_durations(connection, stale))
            self._typical_read_at.update(dict.fromkeys(stale, now))
        return lines

    def _place_all(
        self, views: dict[str, RunView], lines: Mapping[str, run_durations.Line]
    ) -> dict[str, RunView]:
        if not lines:
            return views
        snapshot = {group_name_key(name): group for name, group in self._groups().items()}
        now = datetime.now(UTC)
        places = {
            key: _LinePlaces.of(line, snapshot.get(key), self._typical, now)
            for key, line in lines.items()
        }
        return {run_id: _placed(view, places, now) for run_id, view in views.items()}

    def _loop(self) -> None:
        last_signature: tuple | None = None
        last_placed = -math.inf
        interval_s = self._interval_s
        while not self._closed.is_set():
            self._something_watched.wait()
            if self._closed.wait(interval_s):
                return
            now = time.monotonic()
            with self._lock:
                for run_id, last in list(self._wanted.items()):
                    if now - last > self._forget_after_s and not self._waiters.get(run_id):
                        del self._wanted[run_id]
                        self._views.pop(run_id, None)
                        self._waiters.pop(run_id, None)
                ids = list(self._wanted)
                if not ids:
                    self._something_watched.clear()
                    continue
            try:
                with self._engine.connect() as connection:
                    views = read_views(connection, ids)
                    lines = self._lines(connection, views)
            except Exception:
                log.warning("could not read the watched runs; trying again", exc_info=True)
                continue
            # Nothing read changed and the ETAs are fresh: skip the group snapshot
            # and the comparisons (the common case: a paused or slow queue).
            signature = (
                tuple(sorted((run_id, view.shown()) for run_id, view in views.items())),
                tuple(sorted((group, tuple(line.queued_ids)) for group, line in lines.items())),
            )
            quiet = signature == last_signature
            interval_s = (
                min(2 * interval_s, max(QUIET_INTERVAL_S, self._interval_s))
                if quiet
                else self._interval_s
            )
            if quiet and now - last_placed < ETA_REFRESH_S:
                continue
            last_signature, last_placed = signature, now
            fresh = self._place_all(views, lines)
            with self._lock:
                for run_id, view in fresh.items():
                    old = self._views.get(run_id)
                    self._views[run_id] = view
                    if old is None or old.shown() != view.shown():
                        for wakeup in self._waiters.get(run_id, ()):
                            wakeup.set()

"""Recording each request's life in ``task_run``, off the limiter's hot path.

The limiter reports events on the requesting thread (``RunEvents``). Writing
to the database there would put a disk write between a released slot and the
next waiter, so the recorder only enqueues; one background thread applies
the events in order, in one transaction per batch, at least every
``flush_interval_s`` and once more at shutdown. Groups that code creates on
first use are persisted the same way, so the admin sees them.

Nothing the recorder accepted is dropped while the process lives. A batch
that fails for a passing reason (SQLite locked by another writer for longer
than its busy timeout, a PostgreSQL connection dropped: ``db.transient``)
is kept and written again after a growing pause, however long that takes;
events arriving meanwhile wait in the queue behind it, in order. Only a row
the database refuses outright (a constraint) is given up, alone, and logged.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from core.limiter import CREATED_ON_FIRST_USE, GroupConfig, RunInfo
from db.engine import session_scope
from db.models import ConcurrencyGroup, TaskRun, group_name_key, utcnow
from db.transient import backoff_s, is_transient, reason

log = logging.getLogger(__name__)

_STOP = object()
RETRY_FIRST_WAIT_S = 0.1
RETRY_MAX_WAIT_S = 5.0


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class _RunEvent:
    run_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class _GroupCreated:
    config: GroupConfig


class RunRecorder:
    """A ``RunEvents`` sink that writes ``task_run`` rows from a background thread."""

    def __init__(self, engine: Engine, flush_interval_s: float = 0.5) -> None:
        self._engine = engine
        self._flush_interval_s = flush_interval_s
        self._closing = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._flushed = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(
            target=self._loop, name="taskgate-run-recorder", daemon=True
        )
        self._thread.start()

    # RunEvents ---------------------------------------------------------------
    def group_created(self, config: GroupConfig) -> None:
        self._put(_GroupCreated(config))

    def run_queued(self, run: RunInfo) -> None:
        self._put(_RunEvent(run.id, {**self._identity(run), "status": "queued"}))

    def run_started(self, run: RunInfo, lease_s: float | None = None) -> None:
        """``lease_s``: a lease for a run no dispatcher holds (``core.held_runs``)."""
        fields = {**self._identity(run), "status": "running", "started_at": _ts(run.started_at)}
        if lease_s is not None:
            fields["lease_expires_at"] = utcnow() + timedelta(seconds=lease_s)
        self._put(_RunEvent(run.id, fields))

    def run_finished(self, run: RunInfo, status: str, error: str | None) -> None:
        fields = {
            **self._identity(run),
            "status": status,
            "started_at": _ts(run.started_at),
            "finished_at": _ts(run.finished_at) or utcnow(),
            "error": error,
        }
        self._put(_RunEvent(run.id, fields))

    # control -----------------------------------------------------------------
    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything enqueued so far is written; False if that took too long."""
        with self._flushed:
            return self._flushed.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is left and stop the thread (called at shutdown).

        Waits up to ``timeout_s`` for the database; what it still refuses
        then is lost with the process, and the log says how much.
        """
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._closing.set()
            log.error("stopping with %d run event(s) not recorded", self._pending)

    # internals ---------------------------------------------------------------
    @staticmethod
    def _identity(run: RunInfo) -> dict[str, Any]:
        return {
            "group_name": run.group,
            "task": run.task or "",
            "owner": run.owner or "",
            "params": run.params,
            "enqueued_at": _ts(run.enqueued_at),
            "host": run.host,
            "pid": run.pid,
        }

    def _put(self, item: Any) -> None:
        with self._flushed:
            self._pending += 1
        self._queue.put(item)

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get(timeout=self._flush_interval_s / 10))
                except queue.Empty:
                    break
                if len(batch) >= 500:
                    break
            stopping = any(item is _STOP for item in batch)
            items = [item for item in batch if item is not _STOP]
            self._write(items)
            with self._flushed:
                self._pending -= len(items)
                self._flushed.notify_all()

    def _write(self, items: list[Any]) -> None:
        """Apply a batch in one transaction; if the database refuses it, item by item.

        One bad row (a group name the database refuses, say) must not take
        the rest of the batch with it: only the items refused on their own
        are dropped, and each is logged.
        """
        if not items:
            return
        try:
            self._until_written(items)
            return
        except Exception:
            log.warning("could not record %d run event(s) at once; retrying one by one", len(items))
        for item in items:
            try:
                self._until_written([item])
            except Exception:
                # Losing a history row must never take the app down; say so loudly.
                log.exception("could not record %r", item)

    def _until_written(self, items: list[Any]) -> None:
        """Apply ``items``, waiting out transient errors; raise any other error."""
        attempt = 1
        while True:
            try:
                self._apply(items)
            except DBAPIError as error:
                if not is_transient(error) or self._closing.is_set():
                    raise
                wait_s = backoff_s(attempt, RETRY_FIRST_WAIT_S, RETRY_MAX_WAIT_S)
                log.warning(
                    "could not record %d run event(s) yet (%s); keeping them, next try in %.1f s",
                    len(items),
                    reason(error),
                    wait_s,
                )
                attempt += 1
                self._closing.wait(wait_s)
                continue
            if attempt > 1:
                log.info("recorded %d run event(s) after %d tries", len(items), attempt)
            return

    def _apply(self, items: list[Any]) -> None:
        with session_scope(self._engine) as session:
            for item in items:
                if isinstance(item, _GroupCreated):
                    _insert_group_if_missing(session, item.config)
                else:
                    _apply_run_event(session, item)


def _apply_run_event(session: Session, event: _RunEvent) -> None:
    row = session.get(TaskRun, event.run_id)
    if row is None:
        session.add(TaskRun(id=event.run_id, **event.fields))
        session.flush()
        return
    for key, value in event.fields.items():
        if value is not None:
            setattr(row, key, value)


def _insert_group_if_missing(session: Session, config: GroupConfig) -> None:
    exists = session.exec(
        select(ConcurrencyGroup.id).where(ConcurrencyGroup.name_key == group_name_key(config.name))
    ).first()
    if exists is None:
        session.add(
            ConcurrencyGroup(
                name=config.name,
                limit=config.limit,
                description=CREATED_ON_FIRST_USE,
                updated_by="system",
            )
        )
        session.flush()

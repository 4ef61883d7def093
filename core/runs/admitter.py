"""The admitter: this process's one thread that grants slots, keeps leases and sweeps.

Every process that uses the queue runs one (the web server, ``python -m
core.worker``). It applies the one admission decision, ``sql.grant``, for
itself: the heads of the queues it may take go to its executor (task runs)
or to the page threads waiting in ``hold`` (held runs, ``hold_slot``). Any
number of admitters share a database; grants are serialised there, so the
limits and the strict FIFO of each group hold across all of them.

When it decides:

- at once when this process submits, cancels or changes a group (``wake``);
- when another process commits a change (``signals``: PostgreSQL's NOTIFY,
  SQLite's data_version), and at least every ``signals.FALLBACK_S``;
- when one of its runs finishes: ``finished`` records the outcome and grants
  the next runs in the same transaction, so a hand-off never waits for a look.

Every ``lease_ttl_s / 3`` it renews the lease of every run it holds (one
heartbeat per process) and fences the runs it could not renew. Every
``OVERDUE_EVERY_S`` it looks (read-only) for expired leases and waits past
their queue timeout, and if there are any, sweeps them (the one sweep) and
ends those waits.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Connection

from core.runs import sql
from core.runs.database import RunDatabase
from core.runs.ids import new_run_id
from core.runs.signals import FALLBACK_S, open_signals, publish
from core.worker import gpu
from core.worker.executor import LocalExecutor
from db.models import RunStatus, group_name_key
from db.transient import retrying

log = logging.getLogger(__name__)

T = TypeVar("T")

OVERDUE_EVERY_S = 0.25
"""How often the loop looks for expired leases and for waits past their queue timeout (or
of a group deleted under them): a dead process's runs are recorded within its lease plus
this, and a withdrawn run is told within this of its timeout."""

FENCE_MARGIN_S = 2.0
"""A child stops by itself this long (or a third of the TTL, if less) before a lease that
was not renewed can expire anywhere else. Renewals are due every third of the TTL, so a
heartbeat may run late by most of two intervals (a loaded host) before a run is fenced."""


def fence_at(renewal_began: float, ttl_s: float) -> float:
    """The monotonic instant a run must stop at unless its lease is renewed again."""
    return renewal_began + ttl_s - min(FENCE_MARGIN_S, ttl_s / 3)


@dataclass
class HeldGrant:
    """A page thread's wait for its held run's slot (``hold``)."""

    run_id: str
    granted: threading.Event = field(default_factory=threading.Event)
    stop_asked: threading.Event = field(default_factory=threading.Event)
    """A cancel was asked for (its owner's, an admin's)."""


class Admitter:
    """Grants this process its runs and keeps their leases; see the module's docstring."""

    def __init__(
        self,
        db: RunDatabase,
        *,
        lease_ttl_s: float,
        executor: LocalExecutor | None = None,
        host: str | None = None,
    ) -> None:
        self.worker_id = new_run_id()
        self.host = host or socket.gethostname()
        self.lease_ttl_s = lease_ttl_s
        self._db = db
        self._executor = executor
        self._groups = (
            None
            if executor is None or executor.groups is None
            else frozenset(group_name_key(g) for g in executor.groups)
        )
        self._signals = open_signals(db.reader)
        self._lock = threading.Lock()
        self._held: dict[str, HeldGrant] = {}
        self._fence_at = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="taskgate-admitter", daemon=True)
        self.last_decision = 0.0
        """When (monotonic) the loop last looked at the queue: /readyz says it is alive."""
        if executor is not None:
            executor.attach(self)

    # life ------------------------------------------------------------------------
    def start(self) -> None:
        executor = self._executor
        with self._db.write() as connection:
            now = sql.clock(connection)
            sql.register_worker(
                connection,
                id=self.worker_id,
                host=self.host,
                pid=os.getpid(),
                device=executor.device if executor else "",
                groups=list(executor.groups) if executor and executor.groups else None,
                capacity=executor.slots if executor else 0,
                started_at=now,
                heartbeat_at=now,
            )
        self._housekeeping()
        self._sweep()  # what a previous run of this server left behind
        self.last_decision = time.monotonic()
        self._thread.start()

    def wake(self) -> None:
        """Decide now: this process changed something the admitter decides on."""
        self._signals.kick()

    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def executes(self) -> bool:
        """Whether this process runs tasks (it has an executor), not only page code."""
        return self._executor is not None

    def stop(self) -> None:
        """Stop deciding, stop the executor's runs (each recorded), then stop."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._signals.kick()
        if self._thread.is_alive():
            self._thread.join(5)
        if self._executor is not None:
            self._executor.close()
        try:
            with self._db.write() as connection:
                sql.worker_stopped(connection, self.worker_id, sql.clock(connection))
        except Exception:
            log.warning("could not record that this process stopped", exc_info=True)
        self._signals.close()

    # the loop --------------------------------------------------------------------
    def _loop(self) -> None:
        housekeeping_every = self.lease_ttl_s / 3
        next_housekeeping = time.monotonic() + housekeeping_every
        next_overdue = 0.0
        while not self._stopping.is_set():
            self._signals.wait(min(FALLBACK_S, max(0.0, next_housekeeping - time.monotonic())))
            if self._stopping.is_set():
                return
            try:
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + housekeeping_every
                    self._housekeeping()
                if time.monotonic() >= next_overdue:
                    next_overdue = time.monotonic() + OVERDUE_EVERY_S
                    self._sweep()
                self._carry_out_cancels()
                self._admit()
                self.last_decision = time.monotonic()
            except Exception:
                log.exception("the admitter's look at the queue failed; trying again")
                self._stopping.wait(1.0)

    def _sweep(self) -> None:
        with self._db.read() as connection:  # most looks find nothing: no write lock for them
            if not sql.any_overdue(connection, sql.clock(connection)):
                return
        with self._db.write() as connection:
            now = sql.clock(connection)
            ended = sql.end_waiting(connection, now)
            lost, returned = sql.sweep(connection, now)
            if ended or lost or returned:
                publish(connection)
        if lost or returned:
            log.warning(
                "runs of stopped processes: %d recorded lost, %d back in the queue", lost, returned
            )

    def _grantee(self) -> sql.Grantee:
        room = 0 if self._executor is None else self._executor.room()
        return sql.Grantee(self.worker_id, self._groups, room)

    def _admit(self) -> None:
        with self._db.read() as connection:  # most looks grant nothing: no write lock for them
            if not sql.choose(connection, self._grantee()):
                return
        with self._db.write() as connection:
            granted = self._grant(connection)
        self._hand_out(granted)

    def _grant(self, connection: Connection) -> list[sql.GrantedRun]:
        until = sql.clock(connection) + timedelta(seconds=self.lease_ttl_s)
        return sql.grant(connection, self._grantee(), until)

    def _hand_out(self, granted: list[sql.GrantedRun]) -> None:
        for run in granted:
            if run.held:
                with self._lock:
                    waiter = self._held.get(run.id)
                if waiter is not None:
                    waiter.granted.set()
                # else: its page stopped waiting meanwhile; ``hold`` ends the run itself
            elif self._executor is not None:
                self._executor.start(run, self._fence_at)

    def _mine(self) -> list[str]:
        with self._lock:
            held = list(self._held)
        return held + (self._executor.active_ids() if self._executor else [])

    def _carry_out_cancels(self) -> None:
        if not self._mine():
            return
        with self._db.read() as connection:
            asked = sql.to_stop(connection, self.worker_id)
        for run_id in asked:
            with self._lock:
                waiter = self._held.get(run_id)
            if waiter is not None:
                waiter.stop_asked.set()
            elif self._executor is not None:
                self._executor.stop(run_id, "cancel")

    def _housekeeping(self) -> None:
        """The heartbeat: the leases of every run held here (with the device's figures), and
        fencing those it lost."""
        figures = gpu.device_figures(self._executor.device) if self._executor else None
        began = time.monotonic()
        with self._db.write() as connection:
            now = sql.clock(connection)
            until = now + timedelta(seconds=self.lease_ttl_s)
            mine = sql.renew(connection, self.worker_id, now, until)
            sql.renew_waiting_held(connection, self.worker_id, until)
            if figures is not None:  # the device's memory and load, for the admin's view
                gpu.record(connection, self.worker_id, figures)
        self._fence_at = fence_at(began, self.lease_ttl_s)
        if self._executor is not None:
            self._executor.renewed(mine, self._fence_at)

    # what the executor reports (executor.Outcomes) -----------------------------------
    def _write(self, work: Callable[[Connection], T], what: str) -> T:
        def attempt() -> T:
            with self._db.write() as connection:
                return work(connection)

        return retrying(attempt, what)

    def started(self, run_id: str, device: str) -> bool:
        def mark(connection: Connection) -> bool:
            return sql.mark_running(
                connection,
                run_id,
                self.worker_id,
                sql.clock(connection),
                host=self.host,
                pid=os.getpid(),
                device=device,
            )

        return self._write(mark, f"marking run {run_id} running")

    def progress(self, run_id: str, fraction: float, message: str) -> None:
        try:
            with self._db.write() as connection:
                sql.progress(connection, run_id, self.worker_id, fraction, message)
        except Exception:
            log.warning("could not record the progress of run %s", run_id, exc_info=True)

    def finished(
        self, run_id: str, status: RunStatus, error: str | None, result: bytes | None = None
    ) -> None:
        """Record the outcome and, in the same transaction, grant the next runs."""

        def finish(connection: Connection) -> list[sql.GrantedRun]:
            sql.finish(
                connection,
                run_id,
                self.worker_id,
                status,
                sql.clock(connection),
                error=error,
                result=result,
            )
            publish(connection)
            return [] if self._stopping.is_set() else self._grant(connection)

        try:
            granted = self._write(finish, f"recording the end of run {run_id}")
        except Exception:
            log.exception("could not record the end of run %s; the sweep will", run_id)
            return
        with self._lock:
            self._held.pop(run_id, None)
        self._hand_out(granted)

    def not_started(self, run_id: str) -> None:
        def give_back(connection: Connection) -> None:
            sql.give_back(connection, [run_id], self.worker_id)
            publish(connection)

        try:
            self._write(give_back, f"giving run {run_id} back to the queue")
        except Exception:
            log.warning("could not give run %s back; the sweep will", run_id, exc_info=True)

    # held runs (hold_slot) ---------------------------------------------------------
    @contextmanager
    def waiting_for(self, run_id: str) -> Iterator[HeldGrant]:
        """Register a page thread's wait for its held run ``run_id``; forget it afterwards."""
        waiter = HeldGrant(run_id)
        with self._lock:
            self._held[run_id] = waiter
        self.wake()
        try:
            yield waiter
        finally:
            with self._lock:
                self._held.pop(run_id, None)

    def held_started(self, run_id: str) -> bool:
        return self.started(run_id, "this page")

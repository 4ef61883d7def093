"""The dispatcher: claims queued runs, waits for their slots, runs them in worker processes.

One per process that runs tasks (the web server in the embedded default, or
``python -m core.worker``). Its parts:

- the **loop** thread looks, every ``poll_s`` or at once when woken by a
  local submit, cancel or a run of its own ending: what may be claimed, and
  which of my runs were asked to stop. It claims, in queue order, only runs
  that can start soon (per group its free slots plus ``claims.LOOKAHEAD``,
  at most ``slots`` in all when set), so the rest of a long queue costs no
  thread, and starts one thread per claimed run;
- each **run thread** enters ``limiter.slot(...)`` after the previous
  claimed run has entered it (claim order, so the limiter's FIFO is the
  submission order), then marks the run running, hands it to a warm child
  process and relays progress to the row (at most every
  ``PROGRESS_WRITE_S``) until the child sends its ending;
- the **heartbeat** renews the leases of every run this dispatcher holds
  (queued or running) every TTL/3, pushes each child's fencing deadline
  forward, stops any run whose lease it could not renew, and sweeps the
  fleet's expired leases.

Every ending is written with ``store.finish``, conditional on the run still
being this dispatcher's with an unexpired lease, so a run it lost is never
recorded ``succeeded``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta

from core.limiter import LimiterBackend, LimiterError, WaitInfo
from core.limiter.events import waiting_outcome
from core.shared_limiter.database import LimiterDatabase
from core.shared_limiter.heartbeat import Heartbeat
from core.worker import claims, codec, gpu, store
from core.worker.child import Job
from core.worker.pool import Child, ChildPool
from core.worker.sentences import (
    CANCELLED_WHILE_RUNNING,
    CANCELLED_WHILE_WAITING,
    FENCED,
    SERVER_STOPPED,
    crash_sentence,
    timed_out_sentence,
)
from core.worker.service import new_run_id

log = logging.getLogger(__name__)

POLL_S = 0.15
"""Longest the loop sleeps between looks at the database when nothing wakes it."""

PROGRESS_WRITE_S = 0.25
"""Fastest a run's progress is written to its row; the watchers read it about as often."""

FENCE_MARGIN_S = 2.0
"""A child stops by itself this long (or a third of the TTL, if less) before a lease that
was not renewed can expire anywhere else. Renewals are due every third of the TTL, so a
heartbeat may run late by most of two intervals (a loaded host) before a run is fenced."""


def fence_at(renewal_began: float, ttl_s: float) -> float:
    """The monotonic instant a child must stop at unless the lease is renewed again."""
    return renewal_began + ttl_s - min(FENCE_MARGIN_S, ttl_s / 3)


class _Stop(BaseException):
    """Raised from ``on_wait`` to leave the limiter's queue (like Streamlit's own stop)."""


@dataclass
class _Active:
    run: store.ClaimedRun
    fence_at: float
    entered: threading.Event = field(default_factory=threading.Event)
    reason: str | None = None
    """Why the run must stop: "cancel", "fenced", "shutdown", "timed_out", or "requeue" (give
    it back to the queue: only before it starts); None while it may go on."""
    child: Child | None = None
    cap_at: float | None = None
    """When (monotonic) the group's run-time cap stops it; set as it starts."""

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        child = self.child
        if child is not None:
            try:
                child.stop.set()
            except ValueError:  # the child was killed and its shared page closed meanwhile
                pass


class Dispatcher:
    """Runs the queued runs of ``groups`` (all when None) through ``limiter`` in ``pool``."""

    def __init__(
        self,
        db: LimiterDatabase,
        limiter: LimiterBackend,
        pool: ChildPool,
        *,
        device: str,
        lease_ttl_s: float,
        grace_s: float,
        max_result_bytes: int,
        groups: Collection[str] | None = None,
        slots: int | None = None,
        poll_s: float = POLL_S,
        host: str | None = None,
        fleet_order: bool = False,
    ) -> None:
        self.worker_id = new_run_id()
        self._db = db
        self._limiter = limiter
        self._pool = pool
        self._device = device
        self._ttl_s = lease_ttl_s
        self._grace_s = grace_s
        self._max_result_bytes = max_result_bytes
        self._groups = None if groups is None else tuple(groups)
        self._slots = slots
        self._poll_s = poll_s
        self._host = host or socket.gethostname()
        self._fleet_order = fleet_order
        self._lock = threading.Lock()
        self._active: dict[str, _Active] = {}
        self._threads: list[threading.Thread] = []
        self._last_entered: threading.Event | None = None
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._loop_thread = threading.Thread(
            target=self._loop, name="taskgate-dispatcher", daemon=True
        )
        self._heartbeat: Heartbeat | None = None

    # life ------------------------------------------------------------------------
    def start(self) -> None:
        with self._db.write() as connection:
            now = store.clock(connection)
            store.register_worker(
                connection,
                id=self.worker_id,
                host=self._host,
                pid=os.getpid(),
                device=self._device,
                groups=list(self._groups) if self._groups is not None else None,
                capacity=self._slots,
                started_at=now,
                heartbeat_at=now,
            )
        self.sweep()
        self._heartbeat = Heartbeat(self._ttl_s / 3, self._renew, self.sweep)
        self._loop_thread.start()

    def wake(self) -> None:
        """Look at the database now (a local submit or cancel happened)."""
        self._wakeup.set()

    def stop(self) -> None:
        """Stop claiming, stop every run, record the running ones ``lost``; queued stay queued.

        A child that does not stop within the grace period is killed. Runs
        still waiting for a slot go back to the queue in their place, so
        they run after a restart in their original order.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wakeup.set()
        if self._loop_thread.is_alive():
            self._loop_thread.join(5)
        with self._lock:
            active = list(self._active.values())
            threads = list(self._threads)
        for entry in active:
            entry.stop("shutdown")
        deadline = time.monotonic() + self._grace_s + 2.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._heartbeat is not None:
            self._heartbeat.stop()
        with self._lock:
            left = list(self._active.values())
        with self._db.write() as connection:
            now = store.clock(connection)
            for entry in left:  # threads that did not finish in time
                store.finish(
                    connection, entry.run.id, self.worker_id, "lost", now, error=SERVER_STOPPED
                )
                store.unclaim(connection, [entry.run.id], self.worker_id)
            store.worker_stopped(connection, self.worker_id, now)

    @property
    def host(self) -> str:
        """The name this worker's runs and its row carry (a label, or the host name)."""
        return self._host

    def active_ids(self) -> list[str]:
        with self._lock:
            return list(self._active)

    # the loop --------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._poll_s)
            self._wakeup.clear()
            if self._stopping.is_set():
                return
            try:
                self._tick()
            except Exception:
                log.exception("the dispatcher's look at the queue failed; trying again")
                self._stopping.wait(1.0)

    def _tick(self) -> None:
        with self._lock:
            holding = bool(self._active)
        with self._db.read() as connection:
            look = claims.look(connection, self.worker_id, self._groups, holding)
        with self._lock:
            for reason, run_ids in (("cancel", look.to_stop), ("requeue", look.to_give_back)):
                for run_id in run_ids:
                    entry = self._active.get(run_id)
                    if entry is not None:
                        entry.stop(reason)
            room = None if self._slots is None else self._slots - len(self._active)
        may_claim = bool(look.rooms) and (room is None or room > 0)
        if not may_claim and not look.overdue:
            return
        started = time.monotonic()
        with self._db.write() as connection:
            now = store.clock(connection)
            if look.overdue:
                claims.end_overdue(connection, self._groups, now)
            claimed = []
            if may_claim:
                claimed = claims.claim(
                    connection,
                    self.worker_id,
                    self._groups,
                    room,
                    now + timedelta(seconds=self._ttl_s),
                    fleet_order=self._fleet_order,
                )
        for run in claimed:
            self._launch(run, fence_at(started, self._ttl_s))

    def _launch(self, run: store.ClaimedRun, deadline: float) -> None:
        entry = _Active(run, deadline)
        with self._lock:
            previous, self._last_entered = self._last_entered, entry.entered
            self._active[run.id] = entry
            thread = threading.Thread(
                target=self._run,
                args=(entry, previous),
                name=f"taskgate-run-{run.id[:8]}",
                daemon=True,
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    # one run -----------------------------------------------------------------------
    def _run(self, entry: _Active, previous: threading.Event | None) -> None:
        run = entry.run
        try:
            if previous is not None:
                previous.wait(30)  # claim order into the limiter; bounded if one hangs
            self._hold_slot_and_run(entry)
        except _Stop:
            self._ended_waiting(entry)
        except LimiterError as refusal:
            self._finish(entry, waiting_outcome(refusal), str(refusal))
        except Exception:
            log.exception("run %s could not be carried out", run.id)
            self._finish(entry, "failed", "The worker could not run it; see the server log.")
        finally:
            entry.entered.set()
            with self._lock:  # a run given back may already be claimed again, as a new entry
                if self._active.get(run.id) is entry:
                    del self._active[run.id]
            self._wakeup.set()  # its room in the group goes to the next in the queue at once

    def _hold_slot_and_run(self, entry: _Active) -> None:
        run = entry.run

        def on_wait(_info: WaitInfo) -> None:
            entry.entered.set()
            if entry.reason is not None:
                raise _Stop()

        with self._limiter.slot(
            run.group,
            owner=run.owner,
            task=run.task,
            params=run.params,
            on_wait=on_wait,
            run_id=run.id,
        ):
            entry.entered.set()
            if entry.reason is not None:
                raise _Stop()
            with self._db.write() as connection:
                started = store.start(
                    connection,
                    run.id,
                    self.worker_id,
                    store.clock(connection),
                    self._host,
                    os.getpid(),
                )
            if not started:  # cancelled, asked back or reclaimed between the claim and the slot
                with self._db.read() as connection:
                    if claims.asked_back(connection, run.id, self.worker_id):
                        entry.stop("requeue")
                raise _Stop()
            self._execute(entry)

    def _ended_waiting(self, entry: _Active) -> None:
        if entry.reason in ("shutdown", "requeue"):
            with self._db.write() as connection:
                if store.unclaim(connection, [entry.run.id], self.worker_id):
                    return
        # A cancel (or a start refused because of one), also one asked for
        # after the run was asked back. A run that is not ours any more (the
        # sweep gave it to another worker) is untouched: the write is conditional.
        self._finish(entry, "cancelled", CANCELLED_WHILE_WAITING)

    def _execute(self, entry: _Active) -> None:
        run = entry.run
        if run.max_run_s is not None:  # counted from the start the owner sees, not the hand-over
            entry.cap_at = time.monotonic() + run.max_run_s
        child = self._pool.take()
        child.stop.clear()
        child.deadline.value = entry.fence_at
        entry.child = child
        if entry.reason is not None:
            child.stop.set()
        settings = run.params
        if run.inputs is not None:  # an uploaded image: params records only its size
            settings = {**settings, **codec.decode(run.inputs)}
        child.send(Job(run.id, run.task, settings, self._device, self._max_result_bytes))
        ending = self._relay(entry, child)
        entry.child = None
        if ending is None:  # killed, or died: never hand it out again
            self._pool.discard(child)
        else:
            self._pool.give_back(child)
        self._record(entry, ending, child)

    def _relay(self, entry: _Active, child: Child) -> tuple | None:
        """Pass the child's messages on until its ending; None if it died or had to be killed."""
        written = -1.0
        pending: tuple[float, str] | None = None
        stop_asked: float | None = None
        while True:
            if entry.cap_at is not None and time.monotonic() >= entry.cap_at:
                entry.stop("timed_out")
            if entry.reason is not None and stop_asked is None:
                child.stop.set()
                stop_asked = time.monotonic()
            if stop_asked is not None and time.monotonic() - stop_asked > self._grace_s:
                log.warning(
                    "run %s did not stop within %g s; killing its process",
                    entry.run.id,
                    self._grace_s,
                )
                child.kill()
                return None
            try:
                if not child.conn.poll(0.1):
                    if not child.alive:
                        return None
                    message = None
                else:
                    message = child.conn.recv()
            except (EOFError, OSError):
                return None
            now = time.monotonic()
            if message is not None and message[0] == "progress":
                pending = (min(max(message[1], 0.0), 1.0), message[2][:500])
            elif message is not None and message[0] == "device":
                self._write_progress(entry, 0.0, "Starting…", device=message[1])
            elif message is not None:
                return message
            if pending is not None and now - written >= PROGRESS_WRITE_S:
                self._write_progress(entry, *pending)
                pending, written = None, now

    def _write_progress(
        self, entry: _Active, fraction: float, message: str, device: str | None = None
    ) -> None:
        try:
            with self._db.write() as connection:
                store.progress(connection, entry.run.id, self.worker_id, fraction, message, device)
        except Exception:
            log.warning("could not record the progress of run %s", entry.run.id, exc_info=True)

    def _record(self, entry: _Active, ending: tuple | None, child: Child) -> None:
        kind, *details = ending or (None,)
        if kind == "succeeded":
            self._finish(entry, "succeeded", None, result=details[0])
        elif kind == "failed":
            self._finish(entry, "failed", details[0])
        elif kind == "fenced" or entry.reason == "fenced":
            self._finish(entry, "lost", FENCED)
        elif entry.reason == "shutdown":
            self._finish(entry, "lost", SERVER_STOPPED)
        elif entry.reason == "cancel":
            self._finish(entry, "cancelled", CANCELLED_WHILE_RUNNING)
        elif entry.reason == "timed_out":
            self._finish(entry, "timed_out", timed_out_sentence(entry.run.max_run_s))
        else:
            self._finish(entry, "failed", crash_sentence(child.exitcode))

    def _finish(
        self, entry: _Active, status: str, error: str | None, result: bytes | None = None
    ) -> None:
        for attempt in range(3):
            try:
                with self._db.write() as connection:
                    store.finish(
                        connection,
                        entry.run.id,
                        self.worker_id,
                        status,
                        store.clock(connection),
                        error=error,
                        result=result,
                    )
                return
            except Exception:
                log.warning(
                    "could not record the end of run %s (attempt %d)",
                    entry.run.id,
                    attempt + 1,
                    exc_info=True,
                )
                time.sleep(0.5 * (attempt + 1))

    # leases ------------------------------------------------------------------------
    def _renew(self) -> None:
        with self._lock:
            entries = list(self._active.values())
        figures = gpu.device_figures(self._device)
        began = time.monotonic()
        with self._db.write() as connection:
            now = store.clock(connection)
            mine = store.renew(
                connection,
                self.worker_id,
                [e.run.id for e in entries],
                now,
                now + timedelta(seconds=self._ttl_s),
            )
            gpu.record(connection, self.worker_id, figures)
        deadline = fence_at(began, self._ttl_s)
        for entry in entries:
            if entry.run.id in mine:
                entry.fence_at = deadline
                child = entry.child
                if child is not None:
                    try:
                        child.deadline.value = deadline
                    except ValueError:  # killed meanwhile: nothing left to fence
                        pass
            else:
                entry.stop("fenced")

    def sweep(self) -> None:
        """Record runs whose lease expired lost, and give back queued runs of dead workers."""
        with self._db.write() as connection:
            lost, returned = store.sweep(connection, store.clock(connection))
        if lost or returned:
            log.warning(
                "reclaimed runs of stopped workers: %d lost, %d back in the queue", lost, returned
            )

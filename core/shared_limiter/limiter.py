"""The shared limiter: the in-process Limiter's API, with slots and queues in the database.

Every process of a fleet that points at one database shares one set of
limits. The parts:

- ``admission``: one transaction per decision (ask, leave, configure),
  which locks the group and hands freed slots on in the same commit;
- ``waiters``: one watcher thread per limiter wakes this process's waiters
  when their tickets are granted, here or anywhere (via ``signals``);
- ``heartbeat``: renews this limiter's leases and reclaims dead ones;
- ``releases``: give-backs the database refused for now, retried until written.

Every transaction is retried a few times after a transient error (a
dropped connection, a locked SQLite: ``db.transient``), so a PostgreSQL
restart or a killed backend is not a failed request.

As in the in-process limiter, run events go to the sink on the requesting
thread after the transaction has committed, so a slow sink never delays a
hand-off; and every way out of ``slot()`` gives the ticket back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from core.limiter import (
    GroupConfig,
    GroupRemoved,
    GroupSnapshot,
    RunEvents,
    RunInfo,
    WaitInfo,
    policy,
)
from core.limiter.eta import DurationEstimate
from core.limiter.events import EventRelay, reported_run
from core.limiter.waiting import Place, Turn, wait_for_turn
from core.shared_limiter import admission, store
from core.shared_limiter.admission import Change
from core.shared_limiter.database import LimiterDatabase
from core.shared_limiter.errors import LeaseLost
from core.shared_limiter.heartbeat import Heartbeat
from core.shared_limiter.releases import PendingReleases
from core.shared_limiter.rows import GroupState
from core.shared_limiter.signals import open_signals
from core.shared_limiter.waiters import Waiter, Waiters, WaitView
from db.transient import retrying

log = logging.getLogger(__name__)

DEFAULT_LEASE_TTL_S = 15.0

_C = TypeVar("_C", bound=Change)
_R = TypeVar("_R")


class _Held(NamedTuple):
    ticket_id: int
    group_id: int


class SharedLimiter:
    """Limits how many runs of each named group execute at once across every process.

    Groups are the ``concurrency_group`` rows; ``configure`` writes them and a
    group used before it exists is created with ``default_limit``. Each
    ticket is leased for ``lease_ttl_s`` and renewed every third of that;
    a ticket whose process stopped renewing it is reclaimed by the next
    process to look, and its run recorded as lost. Call ``close`` when done.
    """

    def __init__(
        self,
        database_url: str,
        default_limit: int = 1,
        events: RunEvents | None = None,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
    ) -> None:
        if default_limit < 1:
            raise ValueError(f"The default limit must be at least 1 (got {default_limit}).")
        if lease_ttl_s <= 0:
            raise ValueError(f"The lease must last more than 0 seconds (got {lease_ttl_s:g}).")
        self._default_limit = default_limit
        self._events = EventRelay(events)
        self._lease = timedelta(seconds=lease_ttl_s)
        self._holder = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._held: set[int] = set()
        self._durations: dict[str, DurationEstimate] = {}
        self._db = LimiterDatabase(database_url)
        self._signals = open_signals(self._db.reader)
        self._waiters = Waiters(self._holder, self._signals, self._read_groups, self._admit)
        self._heartbeat = Heartbeat(lease_ttl_s / 3, self._renew, self._sweep)
        self._releases = PendingReleases(self._leave)

    # settings -----------------------------------------------------------------
    def configure(self, config: GroupConfig) -> None:
        """Create a group or replace its settings, for the whole fleet.

        Raising the limit or unpausing admits waiters at once, in any
        process; lowering it or pausing stops nothing already running.
        """
        self._write(admission.configure, config)

    def remove(self, name: str) -> bool:
        """Delete a group; False if there was none. Its waiters everywhere get GroupRemoved."""
        change = self._write(admission.remove, name)
        if change.group_id is None:
            return False
        log.info("Removed group %s", name)
        return True

    def seed_duration(self, name: str, seconds: float) -> bool:
        """Start this process's ETA estimate for a group; False if there is no such group."""
        if seconds < 0:
            raise ValueError(f"A run duration cannot be negative (got {seconds:g} s).")
        config = self._read(store.find_group, name)
        if config is None:
            return False
        with self._lock:
            self._estimate(config.name).seed(seconds)
        return True

    def groups(self) -> list[GroupConfig]:
        """Every group's settings, in the order the groups were created."""
        return self._read(store.group_configs)

    def snapshot(self) -> dict[str, GroupSnapshot]:
        """Every group of the fleet at one instant, keyed by display name.

        Running and waiting runs carry the host and pid of the process that
        asked for them; ``avg_run_s`` is this process's estimate.
        """
        groups = self._read(store.read_groups)
        return {group.config.name: self._snapshot_of(group) for group in groups.values()}

    def close(self) -> None:
        """Stop the background threads and close connections; held tickets expire by lease."""
        self._heartbeat.stop()
        self._releases.close()
        self._waiters.close()
        self._db.dispose()

    # slots ---------------------------------------------------------------------
    @contextmanager
    def slot(
        self,
        group: str,
        *,
        owner: str = "anonymous",
        task: str = "",
        params: dict[str, Any] | None = None,
        on_wait: Callable[[WaitInfo], object] | None = None,
        run_id: str | None = None,
    ) -> Iterator[RunInfo]:
        """Hold one slot of ``group``, fleet-wide, for the duration of the ``with`` block.

        Same contract as ``Limiter.slot``: ``on_wait`` on entering the queue
        and every ``waiting.REPORT_EVERY_S`` after; whatever ends the wait or the
        block gives the ticket back and is reported once to ``run_finished``.
        """
        run = RunInfo(group=group, owner=owner, task=task, params=params)
        if run_id is not None:
            run.id = run_id
        with reported_run(
            self._events,
            run,
            acquire=lambda: self._acquire(run, on_wait),
            release=lambda held: self._release(held, run),
        ):
            yield run

    def _acquire(self, run: RunInfo, on_wait: Callable[[WaitInfo], object] | None) -> _Held:
        entry = self._write(admission.enqueue, run, self._default_limit, self._holder, self._lease)
        queued_at = time.monotonic()
        held = None
        if entry.ticket_id is not None and entry.group_id is not None:
            held = _Held(entry.ticket_id, entry.group_id)
            with self._lock:
                self._held.add(held.ticket_id)
        try:
            if entry.created is not None:
                log.info("Created group %s with the default limit", entry.created.name)
                self._events.group_created(entry.created)
            if held is None:
                raise entry.refusal or RuntimeError("the limiter neither queued nor refused")
            if entry.view is not None:
                self._events.run_queued(run)
                self._wait_for_turn(held, entry.view, queued_at, on_wait)
        except BaseException:
            if held is not None:
                self._give_back(held)
            raise
        run.started_at = time.time()
        return held

    def _wait_for_turn(
        self,
        held: _Held,
        view: WaitView,
        queued_at: float,
        on_wait: Callable[[WaitInfo], object] | None,
    ) -> None:
        """Wait as registered with this limiter's watcher, which keeps ``view`` up to date.

        Raises GroupRemoved, LeaseLost or QueueTimeout; the caller gives the
        ticket back.
        """
        waiter = self._waiters.join(held.ticket_id, held.group_id, view)
        try:
            wait_for_turn(_SharedLine(self._waiters, waiter, self._wait_info), queued_at, on_wait)
        finally:
            self._waiters.leave(waiter)

    def _wait_info(self, view: WaitView, config: GroupConfig, waited_s: float) -> WaitInfo:
        with self._lock:
            estimate = self._estimate(config.name)
            return policy.wait_info(
                config,
                position=view.position,
                queued=view.queued,
                running=view.running,
                waited_s=waited_s,
                estimate=estimate,
                oldest_running_s=view.oldest_running_s,
            )

    def _release(self, held: _Held, run: RunInfo) -> None:
        run.finished_at = time.time()
        if run.started_at is not None:
            with self._lock:
                self._estimate(run.group).observe(run.finished_at - run.started_at)
        self._give_back(held)

    def _give_back(self, held: _Held) -> None:
        """Delete the ticket and pass its slot on, now or, if the database refuses, later.

        Never raises: this runs as ``slot()`` exits, and the run's own outcome
        is what the caller must see.
        """
        try:
            self._leave(held.ticket_id, held.group_id)
        except Exception:
            log.exception(
                "could not give back ticket %d; retrying in the background", held.ticket_id
            )
            self._releases.add(held.ticket_id, held.group_id)

    def _leave(self, ticket_id: int, group_id: int) -> None:
        """Give the ticket back; it stays leased (renewed) until the delete is written."""
        self._write(admission.leave, ticket_id, group_id)
        with self._lock:
            self._held.discard(ticket_id)

    # transactions ----------------------------------------------------------------
    def _write(self, body: Callable[..., _C], *args: Any) -> _C:
        """Run one admission transaction, announce the group it changed, wake local grantees.

        A transient error rolls the transaction back and it is run again from
        the start, so it decides on what the database holds at that moment.
        """

        def transaction() -> _C:
            with self._db.write() as connection:
                change = body(connection, *args)
                if change.group_id is not None:
                    self._signals.publish(connection, change.granted)
            return change

        change = retrying(transaction, f"limiter {body.__name__}")
        if change.granted:
            self._waiters.granted((ticket.holder, ticket.id) for ticket in change.granted)
        return change

    def _admit(self, group_id: int) -> Change:
        return self._write(admission.admit, group_id)

    def _read(self, query: Callable[..., _R], *args: Any) -> _R:
        """One read, tried again after a transient error."""

        def read() -> _R:
            with self._db.read() as connection:
                return query(connection, *args)

        return retrying(read, f"limiter {query.__name__}")

    def _read_groups(self, group_ids: list[int]) -> tuple[dict[int, GroupState], datetime]:
        def read(connection):
            return store.read_groups(connection, group_ids), store.clock(connection)

        return self._read(read)

    def _renew(self) -> None:
        with self._lock:
            ticket_ids = sorted(self._held)
        if ticket_ids:
            with self._db.write() as connection:
                until = store.clock(connection) + self._lease
                store.renew(connection, self._holder, ticket_ids, until)

    def _sweep(self) -> None:
        with self._db.read() as connection:
            expired = store.groups_with_expired_tickets(connection, store.clock(connection))
        for group_id in expired:
            self._admit(group_id)

    # views -----------------------------------------------------------------------
    def _estimate(self, group: str) -> DurationEstimate:
        """This process's run-length estimate for ``group`` (the caller holds ``_lock``)."""
        return self._durations.setdefault(group.casefold(), DurationEstimate())

    def _snapshot_of(self, group: GroupState) -> GroupSnapshot:
        config = group.config
        with self._lock:
            estimate = self._durations.get(config.key)
        return GroupSnapshot.of(
            config,
            waiting=tuple(ticket.run_info(config.name) for ticket in group.waiting),
            running_runs=tuple(ticket.run_info(config.name) for ticket in group.running),
            avg_run_s=estimate.mean_s if estimate else None,
        )


class _SharedLine:
    """A waiter's view of its ticket for ``wait_for_turn``: the standing the watcher
    thread last read (never a query of its own), and a sleep until it changes."""

    __slots__ = ("_waiters", "_waiting", "_wait_info")

    def __init__(
        self,
        waiters: Waiters,
        waiting: Waiter,
        wait_info: Callable[[WaitView, GroupConfig, float], WaitInfo],
    ) -> None:
        self._waiters = waiters
        self._waiting = waiting
        self._wait_info = wait_info

    def look(self, waited_s: float | None) -> Place | None:
        view = self._waiting.view
        if view.turn is Turn.GRANTED:
            return None
        if view.turn is Turn.REMOVED:
            raise GroupRemoved(view.group)
        if view.turn is Turn.LOST:
            raise LeaseLost(view.group)
        config = view.config
        assert config is not None, "a waiting ticket's view carries its group's settings"
        info = None if waited_s is None else self._wait_info(view, config, waited_s)
        return Place(config.name, config.queue_timeout_s, info)

    def sleep(self, timeout_s: float) -> bool:
        self._waiters.wait(self._waiting, timeout_s)
        return False

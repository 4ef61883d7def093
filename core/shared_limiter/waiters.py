"""This process's waiters, and the one thread that watches their tickets for them.

A waiter never queries the database itself. It registers its ticket here
and sleeps on its own condition; one watcher thread per limiter re-reads
all registered tickets together whenever a change signal arrives (a NOTIFY, a
commit seen by polling, this process's own write) and wakes exactly the
waiters whose standing changed. So a hundred waiters cost one query per
signal, and a waiter whose grant is announced (by a transaction of this
process, or in a NOTIFY's payload) is woken before any query at all.

While reading, the watcher also admits in groups that need it (a lease that
ran out, a limit raised by hand in the database): only processes with
waiters there look, and one of them is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from core.limiter import GroupConfig
from core.limiter.waiting import Turn
from core.shared_limiter.rows import GroupState
from core.shared_limiter.signals import Signals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitView:
    """What was last read about one waiting ticket: enough for ``on_wait`` and timeouts."""

    turn: Turn
    group: str
    config: GroupConfig | None = None
    """The group's settings while the ticket waits (None once it stopped waiting)."""
    position: int = 0
    queued: int = 0
    running: int = 0
    oldest_running_s: float = 0.0


def view_of(group: GroupState | None, ticket_id: int, now: datetime, name: str = "") -> WaitView:
    """Where ticket ``ticket_id`` stands in ``group`` (None: the group no longer exists).

    A ticket missing from a group that still exists was reclaimed: its lease
    ran out while its process was alive but not renewing it.
    """
    if group is None:
        return WaitView(Turn.REMOVED, name)
    config = group.config
    ticket = next((t for t in group.tickets if t.id == ticket_id), None)
    if ticket is None:
        return WaitView(Turn.LOST, config.name)
    if ticket.running:
        return WaitView(Turn.GRANTED, config.name)
    waiting = group.waiting
    return WaitView(
        Turn.QUEUED,
        config.name,
        config,
        position=waiting.index(ticket) + 1,
        queued=len(waiting),
        running=len(group.running),
        oldest_running_s=group.oldest_running_s(now),
    )


class Waiter:
    """One registered waiter: its ticket, its latest view, and the condition it sleeps on."""

    __slots__ = ("ticket_id", "group_id", "view", "changed")

    def __init__(self, ticket_id: int, group_id: int, view: WaitView, lock: threading.Lock):
        self.ticket_id = ticket_id
        self.group_id = group_id
        self.view = view
        self.changed = threading.Condition(lock)


ReadGroups = Callable[[list[int]], tuple[dict[int, GroupState], datetime]]
"""Reads the given groups with their tickets, and the time to judge leases by."""


class Waiters:
    """The registry of this limiter's waiting tickets and the watcher thread that serves it."""

    def __init__(
        self, holder: str, signals: Signals, read: ReadGroups, admit: Callable[[int], object]
    ) -> None:
        self._holder = holder
        self._signals = signals
        self._read = read
        self._admit = admit
        self._lock = threading.Lock()
        self._waiting: dict[int, Waiter] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="taskgate-limiter-watcher", daemon=True
        )
        self._thread.start()

    def join(self, ticket_id: int, group_id: int, view: WaitView) -> Waiter:
        waiting = Waiter(ticket_id, group_id, view, self._lock)
        with self._lock:
            self._waiting[ticket_id] = waiting
        return waiting

    def leave(self, waiting: Waiter) -> None:
        with self._lock:
            self._waiting.pop(waiting.ticket_id, None)

    def wait(self, waiting: Waiter, timeout: float) -> None:
        """Sleep until the waiter's standing changes or ``timeout`` passes."""
        with self._lock:
            if waiting.view.turn is Turn.QUEUED:
                waiting.changed.wait(timeout)

    def granted(self, grants: Iterable[tuple[str, int]]) -> None:
        """Tickets a committed transaction granted, as (holder, id): wake this limiter's waiters."""
        with self._lock:
            for holder, ticket_id in grants:
                waiting = self._waiting.get(ticket_id) if holder == self._holder else None
                if waiting is not None:
                    self._settle(waiting, WaitView(Turn.GRANTED, waiting.view.group))

    def close(self) -> None:
        self._stopped.set()
        self._signals.kick()
        self._thread.join(5)
        self._signals.close()

    def _watch(self) -> None:
        fallback_s = self._signals.fallback_s
        last_read = 0.0
        while not self._stopped.is_set():
            try:
                signal = self._signals.wait(fallback_s)
                if self._stopped.is_set():
                    return
                if signal is not None:
                    self.granted(signal.granted)
                if signal is not None or time.monotonic() - last_read >= fallback_s:
                    last_read = time.monotonic()
                    self._refresh()
            except Exception:
                log.exception("could not check waiting tickets; trying again shortly")
                self._stopped.wait(fallback_s)

    def _refresh(self) -> None:
        # Only waiters registered before the read can be judged by it: a
        # ticket committed later would look reclaimed.
        with self._lock:
            watched = list(self._waiting.values())
        if not watched:
            return
        group_ids = sorted({waiting.group_id for waiting in watched})
        groups, now = self._read(group_ids)
        stale = [gid for gid, group in groups.items() if group.needs_admission(now)]
        if stale:
            for group_id in stale:
                self._admit(group_id)
            groups, now = self._read(group_ids)
        with self._lock:
            for waiting in watched:
                group = groups.get(waiting.group_id)
                self._settle(waiting, view_of(group, waiting.ticket_id, now, waiting.view.group))

    @staticmethod
    def _settle(waiting: Waiter, view: WaitView) -> None:
        """Store a new view (caller holds the lock); wake the waiter if it stopped waiting."""
        if waiting.view.turn is not Turn.QUEUED:
            return
        waiting.view = view
        if view.turn is not Turn.QUEUED:
            waiting.changed.notify()

"""The in-process limiter: named groups of slots with FIFO queues.

Everything that decides who runs happens under one lock and takes
microseconds; everything that may be slow (event sinks, ``on_wait``
callbacks) happens on the requesting thread after the lock is released, so a
hand-off to the next waiter never waits for I/O.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Lock
from typing import Any

from core.limiter.config import CREATED_ON_FIRST_USE, GroupConfig
from core.limiter.errors import GroupRemoved
from core.limiter.events import EventRelay, RunEvents, reported_run
from core.limiter.group import GroupState, Waiter
from core.limiter.records import GroupSnapshot, RunInfo, WaitInfo
from core.limiter.waiting import Place, Turn, wait_for_turn

logger = logging.getLogger(__name__)


class Limiter:
    """Limits how many runs of each named group execute at once.

    Groups are keyed by their name ignoring case. A group used before it is
    configured is created with ``default_limit``, so code can name a group
    and an admin can tune it later. Settings changed with ``configure``
    apply at once, also to requests already waiting.
    """

    def __init__(self, default_limit: int = 1, events: RunEvents | None = None) -> None:
        if default_limit < 1:
            raise ValueError(f"The default limit must be at least 1 (got {default_limit}).")
        self._default_limit = default_limit
        self._events = EventRelay(events)
        self._lock = Lock()
        self._groups: dict[str, GroupState] = {}

    def configure(self, config: GroupConfig) -> None:
        """Create a group or replace its settings.

        Raising the limit or unpausing admits waiters at once; lowering the
        limit or pausing stops nothing already running. No ``group_created``
        event is sent: settings arrive from whoever stores them.
        """
        with self._lock:
            group = self._groups.get(config.key)
            if group is None:
                self._groups[config.key] = GroupState(config)
            else:
                group.config = config
                group.admit()

    def remove(self, name: str) -> bool:
        """Delete a group; False if there was none.

        Its waiters get GroupRemoved; its running runs finish normally. Using
        the name again creates a fresh group with the default limit.
        """
        with self._lock:
            group = self._groups.pop(name.casefold(), None)
            if group is None:
                return False
            group.evict_waiters()
        logger.info("Removed group %s", group.config.name)
        return True

    def seed_duration(self, name: str, seconds: float) -> bool:
        """Give a group's ETA estimate a starting point, e.g. from stored run history.

        False if there is no such group: history may name a group removed
        since, and that is no reason to fail.
        """
        with self._lock:
            group = self._groups.get(name.casefold())
            if group is None:
                return False
            group.durations.seed(seconds)
        return True

    def close(self) -> None:
        """Nothing to release: the groups live and die with this object."""

    def groups(self) -> list[GroupConfig]:
        """Every group's settings, in the order the groups were created."""
        with self._lock:
            return [group.config for group in self._groups.values()]

    def snapshot(self) -> dict[str, GroupSnapshot]:
        """Every group's settings and occupancy at one instant, keyed by display name."""
        with self._lock:
            return {group.config.name: group.snapshot() for group in self._groups.values()}

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
        """Hold one slot of ``group`` for the duration of the ``with`` block.

        Blocks until the slot is granted, calling ``on_wait`` on entering the
        queue and every ``waiting.REPORT_EVERY_S`` after. Whatever ends the wait or
        the block, including an exception raised by ``on_wait`` or a
        BaseException such as Streamlit's stop, gives the slot or the place
        in the queue back and is reported once to ``run_finished``. ``run_id``
        names the request after a durable run (core/worker) instead of a new id.
        """
        run = RunInfo(group=group, owner=owner, task=task, params=params)
        if run_id is not None:
            run.id = run_id
        with reported_run(
            self._events,
            run,
            acquire=lambda: self._acquire(run, on_wait),
            release=lambda state: self._release(state, run),
        ):
            yield run

    def _acquire(self, run: RunInfo, on_wait: Callable[[WaitInfo], object] | None) -> GroupState:
        created: GroupConfig | None = None
        try:
            with self._lock:
                state = self._groups.get(run.group.casefold())
                if state is None:
                    created = GroupConfig(
                        name=run.group, limit=self._default_limit, description=CREATED_ON_FIRST_USE
                    )
                    state = self._groups[created.key] = GroupState(created)
                waiter = state.request(run)
        finally:
            if created is not None:
                logger.info("Created group %s with the default limit", created.name)
                self._events.group_created(created)
        if waiter is None:
            return state
        queued_at = time.monotonic()
        try:
            self._events.run_queued(run)
            wait_for_turn(_LocalLine(self._lock, state, waiter), queued_at, on_wait)
        except BaseException:
            with self._lock:
                state.withdraw(waiter)
            raise
        return state

    def _release(self, state: GroupState, run: RunInfo) -> None:
        with self._lock:
            state.release(run)


class _LocalLine:
    """A waiter's view of its place for ``wait_for_turn``: looks under the limiter's lock,
    sleeps on the waiter's own wake-up without it."""

    __slots__ = ("_lock", "_state", "_waiter")

    def __init__(self, lock: Lock, state: GroupState, waiter: Waiter) -> None:
        self._lock = lock
        self._state = state
        self._waiter = waiter

    def look(self, waited_s: float | None) -> Place | None:
        with self._lock:
            turn = self._waiter.turn
            if turn is Turn.GRANTED:
                return None
            config = self._state.config
            if turn is Turn.REMOVED:
                raise GroupRemoved(config.name)
            info = None if waited_s is None else self._state.wait_info(self._waiter, waited_s)
            return Place(config.name, config.queue_timeout_s, info)

    def sleep(self, timeout_s: float) -> bool:
        # The turn leaves QUEUED only under the lock and before the wake-up is
        # set, so a granted waiter goes on without taking the lock again.
        return self._waiter.wakeup.wait(timeout_s) and self._waiter.turn is Turn.GRANTED

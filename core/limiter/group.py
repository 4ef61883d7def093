"""One group's queue and running set: the bookkeeping behind the limiter.

Nothing here locks. The limiter calls every method while holding its single
lock, which keeps each decision (admit, queue, refuse, hand off) atomic and
lets one place reason about thread safety.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict

from core.limiter import policy
from core.limiter.config import GroupConfig
from core.limiter.eta import DurationEstimate
from core.limiter.records import GroupSnapshot, RunInfo, WaitInfo
from core.limiter.waiting import Turn
from core.limiter.wakeup import Wakeup


class Waiter:
    """A queued request and the wake-up only it waits on.

    One wake-up per waiter lets a release wake exactly the request it hands
    the slot to, instead of every waiter racing for it; and since it is not
    the limiter's lock, the woken waiter can go straight to work without
    queuing for that lock behind newcomers.
    """

    __slots__ = ("run", "wakeup", "turn")

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.wakeup = Wakeup()
        self.turn = Turn.QUEUED


class GroupState:
    """A group's live state: FIFO queue, running runs, counts per owner, ETA.

    Slots are handed over, not competed for: when one frees, the head of the
    queue is marked granted and counted as running before it even wakes, so
    a newcomer can never take the slot in between.
    """

    def __init__(self, config: GroupConfig) -> None:
        self.config = config
        self.queue: OrderedDict[str, Waiter] = OrderedDict()
        self.running: dict[str, RunInfo] = {}
        self.durations = DurationEstimate()
        self._per_owner: dict[str, int] = {}

    def request(self, run: RunInfo) -> Waiter | None:
        """Start ``run`` now (None) or queue it (its Waiter); raise if it is refused."""
        config = self.config
        queued, running = len(self.queue), len(self.running)
        owner_has = self._per_owner.get(run.owner, 0)
        refusal = policy.refusal(config, owner_has=owner_has, queued=queued, running=running)
        if refusal is not None:
            raise refusal
        run.group = config.name
        run.enqueued_at = time.time()
        if policy.starts_now(config, queued, running):
            self._start(run)
            waiter = None
        else:
            waiter = Waiter(run)
            self.queue[run.id] = waiter
        self._per_owner[run.owner] = self._per_owner.get(run.owner, 0) + 1
        return waiter

    def admit(self) -> None:
        """Hand free slots to the head of the queue, in order.

        Called after anything that may free room: a release, a raised limit,
        an unpause, a waiter giving back a slot it was granted.
        """
        for _ in range(min(policy.free_slots(self.config, len(self.running)), len(self.queue))):
            _, waiter = self.queue.popitem(last=False)
            self._start(waiter.run)
            waiter.turn = Turn.GRANTED
            waiter.wakeup.set()

    def release(self, run: RunInfo) -> None:
        """Free a finished run's slot and pass it on."""
        del self.running[run.id]
        self._forget(run.owner)
        run.finished_at = time.time()
        if run.started_at is not None:
            self.durations.observe(run.finished_at - run.started_at)
        self.admit()

    def withdraw(self, waiter: Waiter) -> None:
        """Take back a request that stopped waiting, whatever its turn.

        If it was granted a slot while it was busy giving up (in ``on_wait``,
        or racing its own timeout), the slot goes to the next in line rather
        than being lost.
        """
        run = waiter.run
        if waiter.turn is Turn.QUEUED:
            del self.queue[run.id]
        elif waiter.turn is Turn.GRANTED:
            del self.running[run.id]
            run.started_at = None
            self.admit()
        self._forget(run.owner)

    def evict_waiters(self) -> None:
        """Tell every waiter the group is gone; running runs finish undisturbed."""
        for waiter in self.queue.values():
            waiter.turn = Turn.REMOVED
            waiter.wakeup.set()
        self.queue.clear()

    def wait_info(self, waiter: Waiter, waited_s: float) -> WaitInfo:
        started = (run.started_at for run in self.running.values())
        return policy.wait_info(
            self.config,
            position=list(self.queue).index(waiter.run.id) + 1,
            queued=len(self.queue),
            running=len(self.running),
            waited_s=waited_s,
            estimate=self.durations,
            oldest_running_s=policy.oldest_running_s(started, time.time()),
        )

    def snapshot(self) -> GroupSnapshot:
        return GroupSnapshot.of(
            self.config,
            waiting=tuple(copy.copy(waiter.run) for waiter in self.queue.values()),
            running_runs=tuple(copy.copy(run) for run in self.running.values()),
            avg_run_s=self.durations.mean_s,
        )

    def _start(self, run: RunInfo) -> None:
        run.started_at = time.time()
        self.running[run.id] = run

    def _forget(self, owner: str) -> None:
        left = self._per_owner[owner] - 1
        if left:
            self._per_owner[owner] = left
        else:
            del self._per_owner[owner]

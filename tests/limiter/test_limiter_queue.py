"""Admission: FIFO hand-off, live limits, pause, and every kind of refusal."""

from __future__ import annotations

import threading
import time

import pytest

from core.limiter import (
    GroupConfig,
    GroupRemoved,
    LimiterError,
    OwnerLimitReached,
    QueueFull,
    QueueTimeout,
    RunInfo,
    WaitInfo,
)
from tests.limiter.harness import MakeLimiter, Recorder, Request, enqueue, queued, running


def _hold(limiter, group, count=1, **kwargs):
    holders = [Request(limiter, group, **kwargs).start() for _ in range(count)]
    for holder in holders:
        assert holder.started.wait(5)
    return holders


def test_waiters_are_admitted_in_arrival_order(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    order: list[int] = []
    (holder,) = _hold(limiter, "A")
    waiters = []
    for index in range(12):
        waiters += enqueue(
            limiter, "A", 1, owner=f"w{index}", hold=False, body=lambda i=index: order.append(i)
        )
    holder.finish()
    for waiter in waiters:
        assert waiter.outcome() is None
    assert order == list(range(12))


def test_waiters_with_a_larger_limit_start_in_arrival_order(limiter):
    limiter.configure(GroupConfig(name="A", limit=3))
    holders = _hold(limiter, "A", 3)
    waiters = enqueue(limiter, "A", 9)
    for step in range(9):
        holders[step].finish()
        assert waiters[step].started.wait(5)
        assert not any(w.started.is_set() for w in waiters[step + 1 :])
        holders.append(waiters[step])
    for request in holders[9:]:
        request.finish()


def test_groups_are_independent(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    limiter.configure(GroupConfig(name="B", limit=1))
    (holder,) = _hold(limiter, "A")
    (waiter,) = enqueue(limiter, "A", 1)
    with limiter.slot("B"):
        assert running(limiter, "B") == 1
    holder.finish()
    waiter.finish()


def test_raising_the_limit_admits_waiters_at_once(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    (holder,) = _hold(limiter, "A")
    waiters = enqueue(limiter, "A", 3)
    limiter.configure(GroupConfig(name="A", limit=3))
    assert waiters[0].started.wait(5) and waiters[1].started.wait(5)
    assert (running(limiter, "A"), queued(limiter, "A")) == (3, 1)
    assert not waiters[2].started.is_set()
    for request in [holder, *waiters]:
        request.finish()


def test_lowering_the_limit_preempts_nothing_and_admits_no_one_until_below_it(limiter):
    limiter.configure(GroupConfig(name="A", limit=2))
    first, second = _hold(limiter, "A", 2)
    (waiter,) = enqueue(limiter, "A", 1)
    limiter.configure(GroupConfig(name="A", limit=1))
    assert running(limiter, "A") == 2
    first.finish()
    assert not first.error
    assert (running(limiter, "A"), queued(limiter, "A")) == (1, 1)
    assert not waiter.started.is_set()
    second.finish()
    assert waiter.started.wait(5)
    waiter.finish()


def test_paused_group_queues_newcomers_and_unpausing_admits_them_in_order(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    (holder,) = _hold(limiter, "A")
    (first,) = enqueue(limiter, "A", 1, owner="first")
    limiter.configure(GroupConfig(name="A", limit=1, paused=True))
    holder.finish()
    assert (running(limiter, "A"), queued(limiter, "A")) == (0, 1)
    (second,) = enqueue(limiter, "A", 1, owner="second")
    assert not first.started.is_set() and not second.started.is_set()
    limiter.configure(GroupConfig(name="A", limit=1, paused=False))
    assert first.started.wait(5)
    assert not second.started.is_set()
    first.finish()
    assert second.started.wait(5)
    second.finish()


def test_paused_waiters_keep_their_timeout(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, paused=True, queue_timeout_s=0.2))
    waiter = Request(limiter, "A").start()
    assert isinstance(waiter.outcome(), QueueTimeout)
    assert queued(limiter, "A") == 0


def test_queue_full_refuses_at_once(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, max_queue=2))
    (holder,) = _hold(limiter, "A")
    waiters = enqueue(limiter, "A", 2)
    with pytest.raises(QueueFull) as refused:
        with limiter.slot("A"):
            pytest.fail("a full queue admitted a request")
    assert refused.value.group == "A" and refused.value.max_queue == 2
    assert "A" in str(refused.value) and "2 waiting" in str(refused.value)
    assert queued(limiter, "A") == 2
    for request in [holder, *waiters]:
        request.finish()


def test_max_queue_zero_never_waits_but_still_runs_when_free(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, max_queue=0))
    with limiter.slot("A"):
        with pytest.raises(QueueFull) as refused:
            with limiter.slot("A"):
                pytest.fail("max_queue=0 made a request wait")
        assert refused.value.max_queue == 0
    assert (running(limiter, "A"), queued(limiter, "A")) == (0, 0)


def test_paused_group_with_max_queue_zero_refuses(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, paused=True, max_queue=0))
    with pytest.raises(QueueFull):
        with limiter.slot("A"):
            pass


def test_queue_timeout_withdraws_the_request(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, queue_timeout_s=0.2))
    (holder,) = _hold(limiter, "A")
    began = time.monotonic()
    waiter = Request(limiter, "A").start()
    error = waiter.outcome()
    assert isinstance(error, QueueTimeout), error
    assert time.monotonic() - began >= 0.2
    assert error.group == "A" and error.timeout_s == 0.2
    assert str(error) == (
        "Waited 0.2 s for group A without getting a slot; the request was withdrawn."
    )
    assert (running(limiter, "A"), queued(limiter, "A")) == (1, 0)
    holder.finish()
    assert holder.error is None and running(limiter, "A") == 0


class _SlowToHearOfQueuing(Recorder):
    """A sink that takes ``delay_s`` to hear that a run queued (a slow sink, not a sync point)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def run_queued(self, run: RunInfo) -> None:
        super().run_queued(run)
        threading.Event().wait(self.delay_s)


def test_the_queue_timeout_counts_from_the_request(make_limiter: MakeLimiter):
    # The backends once disagreed: the shared one started the clock only once the
    # request had been queued and reported. Counting from the request, a waiter whose
    # sink took longer than the timeout is withdrawn before its first report.
    timeout_s = 0.2
    limiter = make_limiter(events=_SlowToHearOfQueuing(2 * timeout_s))
    limiter.configure(GroupConfig(name="A", limit=1, queue_timeout_s=timeout_s))
    (holder,) = _hold(limiter, "A")
    reports: list[WaitInfo] = []
    waiter = Request(limiter, "A", on_wait=reports.append).start()
    assert isinstance(waiter.outcome(), QueueTimeout)
    assert reports == []
    holder.finish()


def test_timed_out_waiters_leave_the_slot_to_the_next_request(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, queue_timeout_s=0.2))
    (holder,) = _hold(limiter, "A")
    early, late = enqueue(limiter, "A", 2)
    assert isinstance(early.outcome(), QueueTimeout)
    assert isinstance(late.outcome(), QueueTimeout)
    holder.finish()
    with limiter.slot("A"):
        assert (running(limiter, "A"), queued(limiter, "A")) == (1, 0)


def test_per_owner_cap_counts_queued_and_running(limiter):
    limiter.configure(GroupConfig(name="A", limit=1, per_owner_limit=2))
    (holder,) = _hold(limiter, "A", owner="x")
    (waiter,) = enqueue(limiter, "A", 1, owner="x")
    with pytest.raises(OwnerLimitReached) as refused:
        with limiter.slot("A", owner="x"):
            pytest.fail("the cap per owner was ignored")
    assert refused.value.group == "A" and refused.value.limit == 2
    assert str(refused.value) == (
        "You already have 2 runs queued or running in group A (the cap per person)."
    )
    (other,) = enqueue(limiter, "A", 1, owner="y")
    holder.finish()
    assert waiter.started.wait(5)
    (again,) = enqueue(limiter, "A", 1, owner="x")
    for request in (waiter, other, again):
        request.finish()
        assert request.error is None


def test_per_owner_cap_applies_even_with_free_slots(limiter):
    limiter.configure(GroupConfig(name="A", limit=5, per_owner_limit=1))
    with limiter.slot("A", owner="x"):
        with pytest.raises(OwnerLimitReached):
            with limiter.slot("A", owner="x"):
                pass
        with limiter.slot("A", owner="y"):
            assert running(limiter, "A") == 2


def test_remove_refuses_waiters_and_lets_running_runs_finish(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    (holder,) = _hold(limiter, "A")
    waiters = enqueue(limiter, "A", 2)
    assert limiter.remove("a") is True
    for waiter in waiters:
        error = waiter.outcome()
        assert isinstance(error, GroupRemoved) and isinstance(error, LimiterError)
        assert error.group == "A"
        assert str(error) == "Group A was removed while you were waiting."
    assert "A" not in limiter.snapshot()
    holder.finish()
    assert holder.error is None
    assert limiter.remove("A") is False


def test_a_removed_name_is_recreated_with_the_default_limit(limiter):
    limiter.configure(GroupConfig(name="A", limit=5))
    (holder,) = _hold(limiter, "A")
    limiter.remove("A")
    with limiter.slot("A"):
        snap = limiter.snapshot()["A"]
        assert (snap.limit, snap.running) == (1, 1)
    holder.finish()
    assert holder.error is None
    assert limiter.snapshot()["A"].running == 0


def test_never_more_than_the_limit_under_stress(limiter, pace):
    limits = {"A": 1, "B": 3}
    for name, limit in limits.items():
        limiter.configure(GroupConfig(name=name, limit=limit))
    lock = threading.Lock()
    now = dict.fromkeys(limits, 0)
    peak = dict.fromkeys(limits, 0)
    start = threading.Barrier(24, timeout=5)

    def work(index: int) -> None:
        group = "A" if index % 3 == 0 else "B"
        start.wait()
        for _ in range(pace.count(40)):
            with limiter.slot(group, owner=f"t{index}"):
                with lock:
                    now[group] += 1
                    peak[group] = max(peak[group], now[group])
                time.sleep(pace.hold_s)
                with lock:
                    now[group] -= 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()
    assert peak == limits
    assert all(s.running == 0 and s.queued == 0 for s in limiter.snapshot().values())

"""``on_wait``: what it is told, how often, and what happens when it raises."""

from __future__ import annotations

import threading
import time
from itertools import pairwise

from core.limiter import GroupConfig, QueueFull, RunCancelled, WaitInfo
from tests.limiter.harness import (
    HANG_S,
    Recorder,
    Request,
    enqueue,
    queued,
    running,
    wait_until,
)


def test_on_wait_is_told_position_and_occupancy(limiter):
    limiter.configure(GroupConfig(name="A", limit=2))
    holders = [Request(limiter, "A").start() for _ in range(2)]
    assert all(h.started.wait(5) for h in holders)
    first_seen: list[WaitInfo] = []
    second_seen: list[WaitInfo] = []
    (first,) = enqueue(limiter, "A", 1, on_wait=first_seen.append)
    (second,) = enqueue(limiter, "A", 1, on_wait=second_seen.append)
    wait_until(lambda: first_seen and second_seen, "both waiters reported")
    info = second_seen[0]
    assert (info.group, info.position, info.queued, info.running, info.limit) == ("A", 2, 2, 2, 2)
    assert info.paused is False and info.waited_s >= 0
    assert first_seen[0].position == 1
    for request in [*holders, first, second]:
        request.finish()


def test_on_wait_is_called_on_entry_and_keeps_being_called_while_waiting(limiter):
    """The contract is a call at least every 0.25 s; this checks that the calls keep coming.

    How close to 0.25 s they come is a timing figure, and a loaded CI machine
    may deschedule a thread for a second: the bound here only catches a
    waiter that stopped calling (a hang), which would leave a page unable
    to see its Cancel click.
    """
    limiter.configure(GroupConfig(name="A", limit=1))
    (holder,) = [Request(limiter, "A").start()]
    assert holder.started.wait(5)
    calls: list[float] = []
    enough = threading.Event()

    def on_wait(info: WaitInfo) -> None:
        calls.append(time.monotonic())
        if len(calls) == 5:
            enough.set()

    entered = time.monotonic()
    waiter = Request(limiter, "A", on_wait=on_wait).start()
    assert enough.wait(30), f"on_wait was called {len(calls)} times while waiting"
    assert not waiter.started.is_set(), "every call came while the request was still waiting"
    holder.finish()
    waiter.finish()
    gaps = [later - earlier for earlier, later in pairwise([entered, *calls])]
    assert max(gaps) < HANG_S, gaps


def test_on_wait_raising_leaves_the_queue_and_propagates(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    (holder,) = [Request(limiter, "A").start()]
    assert holder.started.wait(5)
    cancel = RunCancelled("closed tab")
    give_up = threading.Event()
    ahead = []

    def on_wait(info: WaitInfo) -> None:
        ahead.append(info)
        if give_up.is_set():
            raise cancel

    (quitter,) = enqueue(limiter, "A", 1, on_wait=on_wait, owner="quitter")
    (patient,) = enqueue(limiter, "A", 1, owner="patient")
    give_up.set()
    assert quitter.outcome() is cancel
    assert [r.owner for r in limiter.snapshot()["A"].waiting] == ["patient"]
    holder.finish()
    assert patient.started.wait(5)
    patient.finish()


def test_on_wait_raising_an_exception_propagates_it_unchanged(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    with limiter.slot("A"):
        boom = ValueError("boom")

        def on_wait(info: WaitInfo) -> None:
            raise boom

        request = Request(limiter, "A", on_wait=on_wait).start()
        assert request.outcome() is boom
        assert queued(limiter, "A") == 0


def test_slot_granted_while_on_wait_gives_up_is_passed_on(make_limiter):
    """The race: the slot is handed over while ``on_wait`` is running, then it raises."""
    events = Recorder()
    limiter = make_limiter(events=events)
    limiter.configure(GroupConfig(name="A", limit=1))
    (holder,) = [Request(limiter, "A", owner="holder").start()]
    assert holder.started.wait(5)
    inside = threading.Event()
    go = threading.Event()

    def on_wait(info: WaitInfo) -> None:
        inside.set()
        assert go.wait(5)
        raise RunCancelled()

    quitter = Request(limiter, "A", owner="quitter", on_wait=on_wait).start()
    assert inside.wait(5)
    (next_in_line,) = enqueue(limiter, "A", 1, owner="next")
    holder.finish()
    wait_until(
        lambda: [r.owner for r in limiter.snapshot()["A"].running_runs] == ["quitter"],
        "the slot was handed to the quitter",
    )
    go.set()
    assert isinstance(quitter.outcome(), RunCancelled)
    assert next_in_line.started.wait(5), "the slot leaked"
    assert running(limiter, "A") == 1
    next_in_line.finish()
    assert (running(limiter, "A"), queued(limiter, "A")) == (0, 0)
    assert events.finish_of("quitter")[0] == "cancelled"
    quitter_events = [c[0] for c in events.calls if getattr(c[1], "owner", "") == "quitter"]
    assert quitter_events == ["run_queued", "run_finished"]


def test_on_wait_raising_a_refusal_is_recorded_as_rejected(make_limiter):
    events = Recorder()
    limiter = make_limiter(events=events)
    limiter.configure(GroupConfig(name="A", limit=1))
    with limiter.slot("A"):

        def on_wait(info: WaitInfo) -> None:
            raise QueueFull("A", 0)

        request = Request(limiter, "A", owner="w", on_wait=on_wait).start()
        assert isinstance(request.outcome(), QueueFull)
    assert events.finish_of("w")[0] == "rejected"

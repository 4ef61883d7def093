"""What the event sink hears for each outcome, and that it cannot hurt the limiter."""

from __future__ import annotations

import logging
import threading

import pytest

from core.limiter import (
    GroupConfig,
    GroupRemoved,
    OwnerLimitReached,
    QueueFull,
    QueueTimeout,
    RunCancelled,
    RunInfo,
)
from tests.limiter.harness import Recorder, Request, enqueue, running


class StopScript(BaseException):
    """Stands in for Streamlit's StopException / RerunException."""


@pytest.fixture
def events() -> Recorder:
    return Recorder()


@pytest.fixture
def limiter(make_limiter, events):
    limiter = make_limiter(events=events)
    limiter.configure(GroupConfig(name="A", limit=1))
    return limiter


def _events_of(events: Recorder, owner: str) -> list[str]:
    return [c[0] for c in events.calls if isinstance(c[1], RunInfo) and c[1].owner == owner]


def test_immediate_success_is_started_then_succeeded(limiter, events):
    with limiter.slot("A", owner="me") as run:
        pass
    assert events.events_of(run.id) == ["run_started", "run_finished"]
    assert events.finish_of("me") == ("succeeded", None)
    finished_run = events.finished()[0][0]
    assert finished_run.finished_at is not None and finished_run.started_at is not None


def test_a_waiting_run_is_queued_started_finished(limiter, events):
    holder = Request(limiter, "A", owner="holder").start()
    assert holder.started.wait(5)
    (waiter,) = enqueue(limiter, "A", 1, owner="waiter")
    holder.finish()
    waiter.finish()
    assert _events_of(events, "holder") == ["run_started", "run_finished"]
    assert _events_of(events, "waiter") == ["run_queued", "run_started", "run_finished"]
    queued_copy = next(c[1] for c in events.calls if c[0] == "run_queued")
    assert queued_copy.started_at is None, "the sink must get the run as it was then"


def test_a_failing_block_is_failed_with_its_error(limiter, events):
    with pytest.raises(ValueError):
        with limiter.slot("A", owner="me"):
            raise ValueError("bad size")
    assert events.finish_of("me") == ("failed", "ValueError: bad size")
    assert running(limiter, "A") == 0


@pytest.mark.parametrize("exc", [RunCancelled(), StopScript(), KeyboardInterrupt()])
def test_a_base_exception_in_the_block_is_cancelled(limiter, events, exc):
    with pytest.raises(type(exc)):
        with limiter.slot("A", owner="me"):
            raise exc
    assert events.finish_of("me")[0] == "cancelled"
    assert running(limiter, "A") == 0


def test_on_wait_stopping_the_script_is_cancelled(limiter, events):
    with limiter.slot("A", owner="holder"):

        def on_wait(info):
            raise StopScript()

        request = Request(limiter, "A", owner="me", on_wait=on_wait).start()
        assert isinstance(request.outcome(), StopScript)
    assert _events_of(events, "me") == ["run_queued", "run_finished"]
    assert events.finish_of("me")[0] == "cancelled"


def test_a_queue_timeout_is_timed_out(limiter, events):
    limiter.configure(GroupConfig(name="A", limit=1, queue_timeout_s=0.2))
    with limiter.slot("A", owner="holder"):
        request = Request(limiter, "A", owner="me").start()
        assert isinstance(request.outcome(), QueueTimeout)
    status, error = events.finish_of("me")
    assert status == "timed_out" and error.startswith("QueueTimeout: Waited 0.2 s")
    assert _events_of(events, "me") == ["run_queued", "run_finished"]


def test_refusals_are_rejected_without_being_queued(limiter, events):
    limiter.configure(GroupConfig(name="A", limit=1, max_queue=0, per_owner_limit=1))
    with limiter.slot("A", owner="x"):
        with pytest.raises(QueueFull):
            with limiter.slot("A", owner="full"):
                pass
        with pytest.raises(OwnerLimitReached):
            with limiter.slot("A", owner="x"):
                pass
    assert _events_of(events, "full") == ["run_finished"]
    assert events.finish_of("full")[0] == "rejected"
    assert [s for r, s, _ in events.finished() if r.owner == "x"] == ["rejected", "succeeded"]
    refused = next(r for r, s, _ in events.finished() if r.owner == "full")
    assert refused.started_at is None and refused.finished_at is not None


def test_removed_group_is_rejected(limiter, events):
    holder = Request(limiter, "A", owner="holder").start()
    assert holder.started.wait(5)
    (waiter,) = enqueue(limiter, "A", 1, owner="me")
    limiter.remove("A")
    assert isinstance(waiter.outcome(), GroupRemoved)
    holder.finish()
    assert events.finish_of("me") == (
        "rejected",
        "GroupRemoved: Group A was removed while you were waiting.",
    )
    assert events.finish_of("holder") == ("succeeded", None)


def test_events_run_on_the_callers_thread_outside_the_lock(make_limiter):
    """A sink that reads the limiter from another thread would deadlock if the lock were held."""
    calls = []

    class Probing(Recorder):
        def _add(self, event, subject, status, error):
            reader = threading.Thread(target=limiter.snapshot, daemon=True)
            reader.start()
            reader.join(2)
            calls.append((event, threading.get_ident(), not reader.is_alive()))

    limiter = make_limiter(events=Probing())
    holder = Request(limiter, "A", owner="holder").start()
    assert holder.started.wait(5)
    (waiter,) = enqueue(limiter, "A", 1, owner="waiter")
    holder.finish()
    waiter.finish()
    assert all(free for _, _, free in calls), calls
    by_thread = {
        who.thread_id: [event for event, ident, _ in calls if ident == who.thread_id]
        for who in (holder, waiter)
    }
    assert by_thread == {
        holder.thread_id: ["group_created", "run_started", "run_finished"],
        waiter.thread_id: ["run_queued", "run_started", "run_finished"],
    }


def test_a_slow_sink_does_not_delay_the_hand_off(make_limiter):
    unblock = threading.Event()

    class SlowFinish(Recorder):
        def run_finished(self, run, status, error):
            if run.owner == "holder":
                unblock.wait(5)

    limiter = make_limiter(events=SlowFinish())
    holder = Request(limiter, "A", owner="holder").start()
    assert holder.started.wait(5)
    (waiter,) = enqueue(limiter, "A", 1, owner="waiter")
    holder.release.set()
    try:
        assert waiter.started.wait(4), "the hand-off waited for the sink"
    finally:
        unblock.set()
    holder.finish()
    waiter.finish()


def test_a_failing_sink_is_logged_and_ignored(make_limiter, caplog):
    class Broken:
        def __getattr__(self, name):
            def fail(*args):
                raise RuntimeError(f"{name} is broken")

            return fail

    limiter = make_limiter(events=Broken())
    with caplog.at_level(logging.ERROR):
        with limiter.slot("A", owner="me") as run:
            assert run.started_at is not None
        with pytest.raises(ValueError):
            with limiter.slot("A"):
                raise ValueError("still reported")
    assert limiter.snapshot()["A"].running == 0
    assert "broken" in caplog.text

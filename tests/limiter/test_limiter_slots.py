"""A slot's life, group creation and naming, snapshots and ETAs."""

from __future__ import annotations

import os
import socket

import pytest

from core.limiter import CREATED_ON_FIRST_USE, GroupConfig, GroupSnapshot, RunInfo
from tests.limiter.harness import MakeLimiter, Recorder, Request, enqueue, wait_until


def test_slot_yields_the_run_and_releases_it(limiter):
    limiter.configure(GroupConfig(name="A", limit=2))
    with limiter.slot("A", owner="s1", task="matmul", params={"n": 64}) as run:
        assert isinstance(run, RunInfo)
        assert (run.group, run.owner, run.task, run.params) == ("A", "s1", "matmul", {"n": 64})
        assert len(run.id) == 32 and int(run.id, 16) >= 0
        assert (run.host, run.pid) == (socket.gethostname(), os.getpid())
        assert run.started_at is not None and run.started_at >= run.enqueued_at
        assert run.finished_at is None and run.run_s is not None
        snap = limiter.snapshot()["A"]
        assert (snap.running, snap.queued) == (1, 0)
        assert [r.id for r in snap.running_runs] == [run.id]
    assert run.finished_at is not None and run.run_s >= 0 and run.wait_s >= 0
    assert limiter.snapshot()["A"].running == 0


def test_unknown_group_is_created_with_the_default_limit(make_limiter: MakeLimiter):
    events = Recorder()
    limiter = make_limiter(default_limit=3, events=events)
    with limiter.slot("fresh", owner="s1"):
        pass
    with limiter.slot("FRESH", owner="s1"):
        pass
    assert [g.name for g in limiter.groups()] == ["fresh"]
    assert limiter.groups()[0].limit == 3
    created = [c[1] for c in events.calls if c[0] == "group_created"]
    assert [c.name for c in created] == ["fresh"]
    assert created[0].limit == 3


def test_a_group_created_on_first_use_says_so_in_its_description(make_limiter: MakeLimiter):
    # The backends once disagreed: "" in this process, a sentence in the database.
    events = Recorder()
    limiter = make_limiter(events=events)
    with limiter.slot("fresh", owner="s1"):
        pass
    assert [g.description for g in limiter.groups()] == [CREATED_ON_FIRST_USE]
    assert limiter.snapshot()["fresh"].description == CREATED_ON_FIRST_USE
    created = [c[1] for c in events.calls if c[0] == "group_created"]
    assert [c.description for c in created] == [CREATED_ON_FIRST_USE]


def test_names_are_case_insensitive_but_shown_as_configured(limiter):
    limiter.configure(GroupConfig(name="Render", limit=1))
    holder = Request(limiter, "render").start()
    assert holder.started.wait(5)
    assert holder.run.group == "Render"
    assert list(limiter.snapshot()) == ["Render"]
    assert limiter.snapshot()["Render"].running == 1
    limiter.configure(GroupConfig(name="RENDER", limit=2, description="renamed"))
    assert [g.name for g in limiter.groups()] == ["RENDER"]
    assert limiter.snapshot()["RENDER"].running == 1
    holder.finish()
    assert holder.error is None


def test_configure_replaces_settings(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    new = GroupConfig(
        name="A",
        limit=4,
        paused=True,
        max_queue=7,
        queue_timeout_s=9.5,
        per_owner_limit=2,
        description="GPU jobs",
        version=3,
    )
    limiter.configure(new)
    assert limiter.groups() == [new]
    snap = limiter.snapshot()["A"]
    assert (snap.name, snap.limit, snap.paused, snap.max_queue) == ("A", 4, True, 7)
    assert (snap.queue_timeout_s, snap.per_owner_limit) == (9.5, 2)
    assert (snap.description, snap.version) == ("GPU jobs", 3)
    assert (snap.running, snap.queued, snap.oldest_wait_s, snap.avg_run_s) == (0, 0, None, None)


def test_snapshot_lists_waiters_in_queue_order_and_is_a_copy(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    holder = Request(limiter, "A", owner="h").start()
    assert holder.started.wait(5)
    waiters = enqueue(limiter, "A", 3, owner="w")
    snap: GroupSnapshot = limiter.snapshot()["A"]
    assert [r.owner for r in snap.waiting] == ["w", "w", "w"]
    assert [r.enqueued_at for r in snap.waiting] == sorted(r.enqueued_at for r in snap.waiting)
    assert all(r.started_at is None for r in snap.waiting)
    assert snap.oldest_wait_s is not None and snap.oldest_wait_s >= 0
    assert [r.owner for r in snap.running_runs] == ["h"]
    holder.finish()
    for waiter in waiters:
        waiter.finish()
    assert all(r.started_at is None for r in snap.waiting), "snapshot must not change later"
    assert limiter.snapshot()["A"].running == 0


def test_eta_is_none_until_a_duration_is_known(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    seen = []
    holder = Request(limiter, "A").start()
    assert holder.started.wait(5)
    waiter = Request(limiter, "A", on_wait=seen.append).start()
    wait_until(lambda: len(seen) >= 1, "the waiter reported")
    assert seen[0].eta_s is None
    assert limiter.snapshot()["A"].avg_run_s is None

    limiter.seed_duration("A", 10.0)
    count = len(seen)
    wait_until(lambda: len(seen) > count, "the waiter reported again")
    assert 9.0 < seen[-1].eta_s <= 10.0
    assert limiter.snapshot()["A"].avg_run_s == 10.0
    holder.finish()
    waiter.finish()


def test_eta_learns_from_finished_runs(limiter):
    limiter.configure(GroupConfig(name="A", limit=2))
    with limiter.slot("A"):
        pass
    learned = limiter.snapshot()["A"].avg_run_s
    assert learned is not None and learned >= 0


def test_eta_counts_rounds_of_the_limit(limiter):
    limiter.configure(GroupConfig(name="A", limit=2))
    limiter.seed_duration("A", 100.0)
    holders = [Request(limiter, "A").start() for _ in range(2)]
    assert all(h.started.wait(5) for h in holders)
    reports: dict[int, list] = {1: [], 2: [], 3: []}
    waiters = []
    for position in (1, 2, 3):
        waiters += enqueue(limiter, "A", 1, on_wait=reports[position].append)
    wait_until(lambda: all(reports.values()), "every waiter reported")
    etas = {p: reports[p][-1].eta_s for p in reports}
    assert 99 < etas[1] <= 100 and 99 < etas[2] <= 100 and 199 < etas[3] <= 200
    for request in holders + waiters:
        request.finish()


def test_seed_duration_reports_whether_the_group_exists(limiter):
    limiter.configure(GroupConfig(name="A", limit=1))
    assert limiter.seed_duration("a", 2.0) is True
    assert limiter.seed_duration("nobody", 1.0) is False
    assert "nobody" not in limiter.snapshot()
    with pytest.raises(ValueError):
        limiter.seed_duration("A", -1.0)

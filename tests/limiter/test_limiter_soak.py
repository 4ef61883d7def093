"""Many threads, random outcomes: every path must give its slot or place back."""

from __future__ import annotations

import random
import threading

from core.limiter import GroupConfig, LimiterError, RunCancelled
from tests.limiter.harness import Recorder

THREADS = 24
REQUESTS_PER_THREAD = 80


def test_random_failures_leave_nothing_running_or_queued(make_limiter, pace):
    events = Recorder()
    limiter = make_limiter(default_limit=2, events=events)
    limiter.configure(GroupConfig(name="tight", limit=1, max_queue=6, per_owner_limit=2))
    limiter.configure(GroupConfig(name="slow", limit=2, queue_timeout_s=0.02))
    limiter.configure(GroupConfig(name="wide", limit=4))
    names = ["tight", "slow", "wide", "implicit"]
    lock = threading.Lock()
    busy = dict.fromkeys(names, 0)
    over_limit = []
    start = threading.Barrier(THREADS, timeout=5)
    errors = []
    requests_per_thread = pace.count(REQUESTS_PER_THREAD)

    def request(rng: random.Random, owner: str) -> None:
        group = rng.choice(names)
        fate = rng.random()

        def on_wait(info):
            if fate < 0.1:
                raise RunCancelled()
            if fate < 0.15:
                raise KeyError("on_wait bug")

        try:
            with limiter.slot(group, owner=owner, on_wait=on_wait):
                limit = limiter.snapshot()[group].limit
                with lock:
                    busy[group] += 1
                    if busy[group] > limit:
                        over_limit.append((group, busy[group]))
                try:
                    threading.Event().wait(rng.random() / 1000)
                    if fate > 0.9:
                        raise ValueError("task failed")
                    if fate > 0.8:
                        raise RunCancelled()
                finally:
                    with lock:
                        busy[group] -= 1
        except (LimiterError, ValueError, KeyError, RunCancelled):
            pass
        except BaseException as exc:
            errors.append(exc)

    def worker(index: int) -> None:
        rng = random.Random(index)
        start.wait()
        for _ in range(requests_per_thread):
            request(rng, owner=f"owner{index % 5}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "a request never ended"

    assert errors == [] and over_limit == []
    snapshot = limiter.snapshot()
    assert {name: (s.running, s.queued) for name, s in snapshot.items()} == dict.fromkeys(
        names, (0, 0)
    )
    finished = events.finished()
    assert len(finished) == THREADS * requests_per_thread
    assert len({run.id for run, _, _ in finished}) == len(finished), "finished twice"
    statuses = {status for _, status, _ in finished}
    assert statuses <= {"succeeded", "failed", "cancelled", "timed_out", "rejected"}
    assert {"succeeded", "failed", "cancelled"} <= statuses

"""The queue ETA against today's per-group average, on one replayed mixed workload.

Run with ``.venv/bin/python bench/eta_bench.py [--seed N] [--runs N]``.

A discrete-event replay, no torch: two groups (limit 1 and limit 2) get a
Poisson stream of short matmuls (about 2 s, by size) and long classifiers
(about 100 s, by epochs), each duration its settings' base times ±15 %
noise. Progress is reported as the task would (linear, with noise, from
5 % on). Every time a run has to wait, both estimators are asked at that
moment, with what the server would know then (finished runs only), and the
answer is compared with the wait that followed:

- **per-group average** (core/limiter/eta.py): the EWMA of the group's run
  durations, ``rounds × mean − oldest running``, as the pages showed;
- **queue ETA** (core/limiter/queue_eta.py): each run ahead by its progress
  or its task's typical duration for the same settings (median of the last
  10 finished runs with those settings, else of the task), simulated over
  the group's slots.

Printed: per estimator, how often it gave an estimate, the mean absolute
error in seconds and the 90th percentile of |estimate − actual| / actual,
over the waits both could estimate (so neither is scored on a subset).
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.limiter.eta import DurationEstimate  # noqa: E402
from core.limiter.queue_eta import RunningRun, estimate_wait  # noqa: E402

TASKS = {
    # task: (settings -> base seconds)
    "matmul": {"size=1024": 1.0, "size=2048": 2.5, "size=4096": 6.0},
    "classifier": {"epochs=3": 60.0, "epochs=5": 104.0},
}
MIX = {"matmul": 0.75, "classifier": 0.25}
GROUPS = {"gpu-1": 1, "gpu-2": 2}
ARRIVAL_S = {"gpu-1": 30.0, "gpu-2": 16.0}
"""Mean seconds between arrivals: busy enough to queue, not so busy the queue grows forever."""
NOISE = 0.15
HISTORY = 10


@dataclass
class Run:
    id: int
    group: str
    task: str
    settings: str
    arrival: float
    duration: float
    start: float | None = None
    end: float | None = None

    def fraction(self, now: float, rng: random.Random) -> float | None:
        if self.start is None:
            return None
        true = (now - self.start) / self.duration
        return min(1.0, max(0.0, true + rng.uniform(-0.03, 0.03))) if true >= 0.05 else 0.0


@dataclass
class Group:
    name: str
    limit: int
    running: list[Run] = field(default_factory=list)
    queue: deque[Run] = field(default_factory=deque)
    average: DurationEstimate = field(default_factory=DurationEstimate)


class History:
    """Finished runs' durations, by task and settings: what task_run would hold."""

    def __init__(self) -> None:
        self._by_settings: dict[tuple[str, str], deque[float]] = defaultdict(
            lambda: deque(maxlen=HISTORY)
        )
        self._by_task: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=HISTORY))

    def add(self, run: Run) -> None:
        self._by_settings[run.task, run.settings].append(run.duration)
        self._by_task[run.task].append(run.duration)

    def typical(self, run: Run) -> float | None:
        for seen in (self._by_settings.get((run.task, run.settings)), self._by_task.get(run.task)):
            if seen:
                return statistics.median(seen)
        return None


def workload(rng: random.Random, runs: int) -> list[Run]:
    out: list[Run] = []
    clock = dict.fromkeys(GROUPS, 0.0)
    for index in range(runs):
        group = rng.choice(list(GROUPS))
        clock[group] += rng.expovariate(1 / ARRIVAL_S[group])
        task = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        settings = rng.choice(list(TASKS[task]))
        base = TASKS[task][settings]
        duration = base * rng.uniform(1 - NOISE, 1 + NOISE)
        out.append(Run(index, group, task, settings, clock[group], duration))
    return sorted(out, key=lambda r: r.arrival)


def replay(runs: list[Run], rng: random.Random) -> list[tuple[float | None, float | None, float]]:
    """(per-group estimate, queue estimate, actual wait) for every run that had to wait."""
    groups = {name: Group(name, limit) for name, limit in GROUPS.items()}
    history = History()
    asked: dict[int, tuple[float | None, float | None]] = {}
    events: list[tuple[float, int, int, Run]] = []  # (time, kind 0=end 1=arrival, id, run)
    for run in runs:
        heapq.heappush(events, (run.arrival, 1, run.id, run))

    def start(group: Group, run: Run, now: float) -> None:
        run.start = now
        group.running.append(run)
        heapq.heappush(events, (now + run.duration, 0, run.id, run))

    while events:
        now, kind, _, run = heapq.heappop(events)
        group = groups[run.group]
        if kind == 0:
            run.end = now
            group.running.remove(run)
            group.average.observe(run.duration)
            history.add(run)
            if group.queue:
                start(group, group.queue.popleft(), now)
            continue
        if len(group.running) < group.limit and not group.queue:
            start(group, run, now)
            continue
        group.queue.append(run)
        position = len(group.queue)
        oldest = max((now - r.start for r in group.running if r.start is not None), default=0.0)
        old = group.average.eta(position, group.limit, oldest)
        new = estimate_wait(
            [
                RunningRun(now - r.start, history.typical(r), r.fraction(now, rng))
                for r in group.running
                if r.start is not None
            ],
            [history.typical(r) for r in list(group.queue)[:-1]],
            group.limit,
        )
        asked[run.id] = (old, new)
    return [(*asked[r.id], r.start - r.arrival) for r in runs if r.id in asked]


def scores(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    errors = [abs(estimate - actual) for estimate, actual in pairs]
    relative = sorted(abs(estimate - actual) / actual for estimate, actual in pairs if actual > 0)
    p90 = relative[min(len(relative) - 1, int(0.9 * len(relative)))]
    return statistics.fmean(errors), p90


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/eta_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--runs", type=int, default=2000)
    arguments = parser.parse_args(argv)
    rng = random.Random(arguments.seed)
    waits = replay(workload(rng, arguments.runs), rng)
    both = [(old, new, actual) for old, new, actual in waits if old is not None and new is not None]
    print(f"{arguments.runs} runs replayed (seed {arguments.seed}); {len(waits)} had to wait; "
          f"{len(both)} waits estimated by both\n")  # fmt: skip
    print("| estimator | gave an estimate | mean abs. error | p90 of abs. error / actual wait |")
    print("|---|---|---|---|")
    for name, index in (("per-group average (today)", 0), ("queue ETA (new)", 1)):
        given = sum(1 for w in waits if w[index] is not None)
        mae, p90 = scores([(w[index], w[2]) for w in both])
        print(f"| {name} | {given}/{len(waits)} | {mae:.1f} s | {p90:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Side by side: Taskgate's Limiter, threading.Semaphore and streamlit-extras' limiter.

Run with ``.venv/bin/python bench/limiter_bench.py``. Every contender runs the
same workload in the same process, interleaved round by round so that drift
in the machine's load hits all of them alike, and the result is printed as a
markdown table for docs/BENCHMARKS.md.

What is measured, per contender:
- uncontended: one acquire + release of a free slot around a no-op, in µs;
- hand-off latency: from the end of a task's body (its slot is about to be
  released) to the start of the body of a request that was already waiting,
  p50 and p99 over all rounds;
- overtaking: among pairs of requests where the later one arrived while the
  earlier one was still waiting, the fraction where the later one's body
  started first. A body starts only once its woken thread gets the GIL,
  which CPython does not hand out in order, so for ours the verdict also
  checks the order in which the limiter granted the slots;
- efficiency: ideal makespan (requests x task time / limit) over the
  measured one (first arrival to last release), median over rounds;
- highest concurrency: the most task bodies seen running at once.

streamlit-extras' ``concurrency_limiter`` is measured as the decorator itself
(``show_spinner=False``, which makes no ``st.*`` call and so needs no
Streamlit session): a Semaphore(max_concurrency) probed without blocking
inside a Condition, ``wait()`` until ``notify_all`` on every release.
"""

from __future__ import annotations

import bisect
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit_extras.concurrency_limiter import concurrency_limiter  # noqa: E402

from core.limiter import GroupConfig, Limiter  # noqa: E402

WORKERS = 16
LIMIT = 2
TASK_S = 0.004
REQUESTS_PER_WORKER = 20
ROUNDS = 5
UNCONTENDED_CALLS = 20_000

Runner = Callable[[Callable[[], None]], float | None]
"""Runs a function while holding one slot: the one shape every contender is put in.

Returns when the slot was granted, where the contender records it (ours:
``RunInfo.started_at``, set under the limiter's lock), else None.
"""


def _ours() -> Runner:
    limiter = Limiter()
    limiter.configure(GroupConfig(name="bench", limit=LIMIT))

    def run(fn: Callable[[], None]) -> float | None:
        with limiter.slot("bench", owner="bench") as info:
            fn()
        return info.started_at

    return run


def _semaphore() -> Runner:
    semaphore = threading.Semaphore(LIMIT)

    def run(fn: Callable[[], None]) -> float | None:
        with semaphore:
            fn()
        return None

    return run


def _extras() -> Runner:
    @concurrency_limiter(max_concurrency=LIMIT, show_spinner=False)
    def run(fn: Callable[[], None]) -> float | None:
        fn()
        return None

    return run


CONTENDERS: dict[str, Callable[[], Runner]] = {
    "Taskgate Limiter": _ours,
    "threading.Semaphore(2)": _semaphore,
    "streamlit-extras concurrency_limiter": _extras,
}


@dataclass
class Request:
    arrived: float
    started: float = 0.0
    ended: float = 0.0
    granted: float | None = None


@dataclass
class Results:
    uncontended_us: float = 0.0
    handoffs_s: list[float] = field(default_factory=list)
    overtaking_pairs: int = 0
    waiting_pairs: int = 0
    widest_overtaken_gap_s: float = 0.0
    granted_pairs: int = 0
    granted_out_of_order: int = 0
    efficiencies: list[float] = field(default_factory=list)
    peak: int = 0


def uncontended_us(run: Runner) -> float:
    def noop() -> None:
        pass

    began = time.perf_counter()
    for _ in range(UNCONTENDED_CALLS):
        run(noop)
    return (time.perf_counter() - began) / UNCONTENDED_CALLS * 1e6


def contended_round(run: Runner) -> tuple[list[Request], int]:
    """Run the workload once; return every request's timestamps and the peak concurrency."""
    lock = threading.Lock()
    requests: list[Request] = []
    active = 0
    peak = 0
    start = threading.Barrier(WORKERS)

    def worker() -> None:
        start.wait()
        for _ in range(REQUESTS_PER_WORKER):
            request = Request(arrived=time.perf_counter())

            def body(request: Request = request) -> None:
                nonlocal active, peak
                request.started = time.perf_counter()
                with lock:
                    active += 1
                    peak = max(peak, active)
                time.sleep(TASK_S)
                with lock:
                    active -= 1
                request.ended = time.perf_counter()

            request.granted = run(body)
            with lock:
                requests.append(request)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return requests, peak


def handoffs(requests: list[Request]) -> list[float]:
    """Latency from the latest release to each start that was waiting for it."""
    ends = sorted(r.ended for r in requests)
    latencies = []
    for request in requests:
        index = bisect.bisect_right(ends, request.started) - 1
        if index >= 0 and request.arrived < ends[index]:
            latencies.append(request.started - ends[index])
    return latencies


def overtaking(requests: list[Request], result: Results) -> None:
    """Count pairs where the later request arrived while the earlier waited, and overtakes."""
    ordered = sorted(requests, key=lambda r: r.arrived)
    for i, earlier in enumerate(ordered):
        for later in ordered[i + 1 :]:
            if later.arrived >= earlier.started:
                break
            overtook = later.started < earlier.started
            result.waiting_pairs += 1
            result.overtaking_pairs += overtook
            if overtook:
                gap = later.arrived - earlier.arrived
                result.widest_overtaken_gap_s = max(result.widest_overtaken_gap_s, gap)
            if earlier.granted is not None and later.granted is not None:
                result.granted_pairs += 1
                result.granted_out_of_order += later.granted < earlier.granted


def efficiency(requests: list[Request]) -> float:
    ideal = len(requests) * TASK_S / LIMIT
    makespan = max(r.ended for r in requests) - min(r.arrived for r in requests)
    return ideal / makespan


def measure() -> dict[str, Results]:
    runners = {name: make() for name, make in CONTENDERS.items()}
    results = {name: Results() for name in runners}
    for name, run in runners.items():
        results[name].uncontended_us = uncontended_us(run)
    for _ in range(ROUNDS):
        for name, run in runners.items():
            requests, peak = contended_round(run)
            result = results[name]
            result.handoffs_s += handoffs(requests)
            overtaking(requests, result)
            result.efficiencies.append(efficiency(requests))
            result.peak = max(result.peak, peak)
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(results: dict[str, Results]) -> str:
    lines = [
        "| contender | uncontended acquire+release (µs) | hand-off p50 (µs) | hand-off p99 (µs) "
        "| hand-offs seen | overtaking | efficiency | highest concurrency |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r.uncontended_us:.1f} "
            f"| {percentile(r.handoffs_s, 0.5) * 1e6:.0f} "
            f"| {percentile(r.handoffs_s, 0.99) * 1e6:.0f} | {len(r.handoffs_s)} "
            f"| {r.overtaking_pairs / max(1, r.waiting_pairs):.4f} "
            f"| {statistics.median(r.efficiencies):.3f} | {r.peak} |"
        )
    return "\n".join(lines)


def verdict(results: dict[str, Results]) -> str:
    ours = results["Taskgate Limiter"]
    base = results["threading.Semaphore(2)"]
    ratio = percentile(ours.handoffs_s, 0.5) / percentile(base.handoffs_s, 0.5)
    gap = statistics.median(base.efficiencies) - statistics.median(ours.efficiencies)
    checks = [
        (
            "no overtaking",
            ours.overtaking_pairs == 0,
            f"{ours.overtaking_pairs} of {ours.waiting_pairs} pairs; the widest arrived "
            f"{ours.widest_overtaken_gap_s * 1e6:.0f} µs apart",
        ),
        (
            "no overtaking in the order slots were granted (RunInfo.started_at)",
            ours.granted_out_of_order == 0 and ours.granted_pairs == ours.waiting_pairs,
            f"{ours.granted_out_of_order} of {ours.granted_pairs} pairs",
        ),
        ("hand-off p50 <= 1.2x semaphore's", ratio <= 1.2, f"{ratio:.2f}x"),
        ("efficiency within 0.03 of semaphore's", gap <= 0.03, f"{gap:+.3f} below"),
        ("highest concurrency == limit", ours.peak == LIMIT, f"{ours.peak}"),
    ]
    return "\n".join(
        f"- {name}: {'met' if ok else 'MISSED'} ({detail})" for name, ok, detail in checks
    )


def main() -> None:
    requests = WORKERS * REQUESTS_PER_WORKER
    print(
        f"{WORKERS} threads, limit {LIMIT}, {TASK_S * 1e3:g} ms tasks, {requests} requests "
        f"x {ROUNDS} rounds; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.machine()} {platform.system()}\n"
    )
    results = measure()
    print(table(results))
    print()
    print(verdict(results))


if __name__ == "__main__":
    main()

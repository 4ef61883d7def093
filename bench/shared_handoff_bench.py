"""Hand-off latency across processes: the shared limiter on SQLite and PostgreSQL.

Run with ``.venv/bin/python bench/shared_handoff_bench.py``; PostgreSQL rows
need ``TASKGATE_TEST_POSTGRES_URL`` (a private schema is created and dropped).
The result is printed as a markdown table for docs/BENCHMARKS.md.

Two workers take turns on one group of limit 1: each holds the slot for
``HOLD_S``, releases it, and asks again at once, so it queues behind the
other, who was already waiting. The hand-off latency is the time from the
end of one worker's block (its slot about to be released) to the start of
the other's block, measured with ``time.time()`` on one host. Workers are
threads of one process (in-process Limiter; SharedLimiter in one process)
or two processes (SharedLimiter, the case the shared backend exists for).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.limiter import GroupConfig, Limiter, LimiterBackend  # noqa: E402
from core.shared_limiter import SharedLimiter  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests.support.database import postgres_base_url, postgres_schema_url  # noqa: E402

GROUP = "handoff"
TURNS = 60
"""Slots each worker takes: about 2 x TURNS hand-offs per row."""
HOLD_S = 0.01
WARMUP_TURNS = 5

Span = tuple[float, float]
"""When a worker's block started and ended (epoch seconds)."""


def take_turns(limiter: LimiterBackend, turns: int) -> list[Span]:
    spans = []
    for _ in range(turns):
        with limiter.slot(GROUP, owner=str(os.getpid())):
            began = time.time()
            time.sleep(HOLD_S)
            spans.append((began, time.time()))
    return spans


def handoffs(spans_per_worker: list[list[Span]]) -> list[float]:
    """Seconds from one worker's block end to the next block of the other worker."""
    tagged = sorted(
        (span, worker)
        for worker, spans in enumerate(spans_per_worker)
        for span in spans[WARMUP_TURNS:]
    )
    return [
        later[0] - earlier[1]
        for (earlier, first), (later, second) in zip(tagged, tagged[1:], strict=False)
        if first != second
    ]


def in_threads(limiter: LimiterBackend) -> list[float]:
    limiter.configure(GroupConfig(name=GROUP, limit=1))
    results: list[list[Span]] = [[], []]

    def work(index: int) -> None:
        results[index] = take_turns(limiter, TURNS)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return handoffs(results)


def in_processes(url: str) -> list[float]:
    setup = SharedLimiter(url)
    setup.configure(GroupConfig(name=GROUP, limit=1))
    setup.close()
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    spans = [json.loads(child.communicate(timeout=120)[0]) for child in children]
    return handoffs([[tuple(span) for span in worker] for worker in spans])


def child(url: str) -> None:
    """One worker process: ready, wait for go, take turns, print the spans as JSON."""
    limiter = SharedLimiter(url)
    print("ready", flush=True)
    sys.stdin.readline()
    spans = take_turns(limiter, TURNS)
    limiter.close()
    print(json.dumps(spans), flush=True)


def shared_in_threads(url: str) -> list[float]:
    limiter = SharedLimiter(url)
    try:
        return in_threads(limiter)
    finally:
        limiter.close()


def row(name: str, where: str, samples: list[float], baseline_ms: float | None) -> str:
    ms = sorted(sample * 1000 for sample in samples)
    p50 = statistics.median(ms)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    ratio = f"{p50 / baseline_ms:,.0f}x" if baseline_ms else "1x"
    return f"| {name} | {where} | {len(ms)} | {p50:.2f} | {p90:.2f} | {ms[-1]:.2f} | {ratio} |"


def main() -> None:
    rows: list[tuple[str, str, Callable[[], list[float]]]] = [
        ("Limiter (in-process)", "other thread", lambda: in_threads(Limiter()))
    ]
    folder = tempfile.mkdtemp(prefix="taskgate-bench-")
    sqlite_url = f"sqlite:///{folder}/bench.db"
    upgrade(sqlite_url)
    rows += [
        ("SharedLimiter, SQLite", "other thread", lambda: shared_in_threads(sqlite_url)),
        ("SharedLimiter, SQLite", "other process", lambda: in_processes(sqlite_url)),
    ]
    base = postgres_base_url()
    results: list[str] = []
    with postgres_schema_url(base) if base else _nothing() as postgres_url:
        if postgres_url:
            upgrade(postgres_url)
            rows += [
                (
                    "SharedLimiter, PostgreSQL",
                    "other thread",
                    lambda: shared_in_threads(postgres_url),
                ),
                ("SharedLimiter, PostgreSQL", "other process", lambda: in_processes(postgres_url)),
            ]
        baseline_ms = None
        for name, where, measure in rows:
            samples = measure()
            results.append(row(name, where, samples, baseline_ms))
            if baseline_ms is None:
                baseline_ms = statistics.median(samples) * 1000
    print(
        f"Hand-off latency, limit 1, two workers taking turns, {HOLD_S * 1000:g} ms holds; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.machine()} {platform.system()}\n"
    )
    print("| backend | waiter in | hand-offs | p50 ms | p90 ms | max ms | p50 vs in-process |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(results))
    if not base:
        print("\n(PostgreSQL skipped: set TASKGATE_TEST_POSTGRES_URL to include it.)")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()

"""Durable runs against today's in-thread ``limiter.slot``, measured in the same run.

Run with ``.venv/bin/python bench/durable_bench.py [ROUNDS]``. Prints a markdown
table for docs/BENCHMARKS.md. On a fresh SQLite file, with the embedded
dispatcher, the local limiter and warm worker processes, as ``make run`` has.

- **submit → start, free slot**: from the ``RunService.submit`` call to the
  first line of the task body in the worker process (the task logs
  ``time.time()``; both processes read the same clock). Baseline: from the
  ``limiter.slot`` call to the first line of the block on the same thread,
  which is what a page did before durable runs.
- **end → next start**: a run queued behind another in a limit-1 group, from
  the last line of the first task body to the first line of the next. Baseline:
  a thread waiting in ``limiter.slot`` behind a holder, from the end of the
  holder's block to the start of the waiter's.
- **watching**: the web process's CPU while N page threads wait on N queued
  runs through ``RunWatcher.wait`` (1 s timeout, as the pages do), beside the
  same N threads waiting in ``limiter.slot`` with an ``on_wait`` every 0.1 s.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.app import start_app  # noqa: E402
from core.limiter import GroupConfig, Limiter  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.worker.support import finished, set_group  # noqa: E402


def _first(path: Path, what: str) -> float:
    deadline = time.monotonic() + 60
    while True:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.startswith(what):
                    return float(line.split()[1])
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} never logged {what}")
        time.sleep(0.001)


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{statistics.median(values) * 1e3:.1f} / {p95 * 1e3:.1f}"


def durable_latencies(app, folder: Path, rounds: int) -> tuple[list[float], list[float]]:
    starts, handoffs = [], []
    for index in range(rounds):
        log = folder / f"start-{index}.log"
        submitted = time.time()
        run_id = app.runs.submit("sleepy", {"steps": 1, "step_s": 0.0, "log": str(log)}, "b")
        starts.append(_first(log, "work") - submitted)
        finished(app, run_id)
        time.sleep(0.3)  # let the pool put a fresh warm child back
        first_log, next_log = folder / f"a-{index}.log", folder / f"b-{index}.log"
        first = app.runs.submit("sleepy", {"steps": 3, "step_s": 0.1, "log": str(first_log)}, "b")
        second = app.runs.submit("sleepy", {"steps": 1, "step_s": 0.0, "log": str(next_log)}, "c")
        finished(app, second)
        finished(app, first)
        handoffs.append(_first(next_log, "work") - _first(first_log, "stopped"))
        time.sleep(0.3)
    return starts, handoffs


def _in_thread_handoff(limiter: Limiter) -> float:
    """A waiter queued behind a holder: from the holder's block end to the waiter's start."""
    holding, ended, began = threading.Event(), {}, {}

    def holder() -> None:
        with limiter.slot("A", owner="a"):
            holding.set()
            time.sleep(0.05)
            ended["at"] = time.time()

    def waiter() -> None:
        holding.wait()
        with limiter.slot("A", owner="b"):
            began["at"] = time.time()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return began["at"] - ended["at"]


def in_thread_latencies(rounds: int) -> tuple[list[float], list[float]]:
    limiter = Limiter()
    starts, handoffs = [], []
    for _ in range(rounds):
        called = time.time()
        with limiter.slot("A", owner="a"):
            starts.append(time.time() - called)
        handoffs.append(_in_thread_handoff(limiter))
    return starts, handoffs


def _cpu_share(seconds: float) -> float:
    before_cpu, before = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - before_cpu) / (time.monotonic() - before)


def watching_cpu(app, count: int, seconds: float) -> tuple[float, float]:
    """(durable watchers, in-thread waiters): this process's CPU share, N waiting each way."""
    set_group(app, "A", paused=True)
    ids = [app.runs.submit("sleepy", {"steps": 1}, f"w{i}") for i in range(count)]
    stop = threading.Event()

    def watch(run_id: str) -> None:
        seen: dict = {}
        while not stop.is_set():
            view = app.watcher.wait([run_id], seen, 1.0).get(run_id)
            seen = {run_id: view.shown()} if view else {}

    threads = [threading.Thread(target=watch, args=(run_id,)) for run_id in ids]
    for thread in threads:
        thread.start()
    time.sleep(2)
    durable = _cpu_share(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    for run_id in ids:
        app.runs.cancel(run_id, "bench")
    set_group(app, "A", paused=False)
    limiter = Limiter()
    limiter.configure(GroupConfig(name="P", limit=1, paused=True))
    release = threading.Event()

    def wait_in_line(index: int) -> None:
        def on_wait(_info) -> None:
            if release.is_set():
                raise TimeoutError

        try:
            with limiter.slot("P", owner=f"w{index}", on_wait=on_wait):
                pass
        except TimeoutError:
            pass

    threads = [threading.Thread(target=wait_in_line, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    in_thread = _cpu_share(seconds)
    release.set()
    for thread in threads:
        thread.join()
    return durable, in_thread


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    folder = Path(tempfile.mkdtemp(prefix="taskgate-bench-"))
    os.environ["TASKGATE_TASK_MODULES"] = "tests.support.worker_tasks"  # its sleepy task
    app = start_app(
        Settings(
            database_url=f"sqlite:///{folder / 'bench.db'}",
            admin_password="bench-bench-bench",
        )
    )
    try:
        finished(app, app.runs.submit("sleepy", {"steps": 1, "step_s": 0.0}, "warm"))
        time.sleep(1)
        durable_start, durable_handoff = durable_latencies(app, folder, rounds)
        thread_start, thread_handoff = in_thread_latencies(rounds)
        print(f"\n{rounds} rounds, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n")
        print("| p50 / p95, ms | durable run (worker process) | in-thread `limiter.slot` |")
        print("| --- | --- | --- |")
        print(f"| submit → task starts, free slot | {_ms(durable_start)} | {_ms(thread_start)} |")
        print(f"| run ends → next run starts | {_ms(durable_handoff)} | {_ms(thread_handoff)} |")
        print("\n| N waiting | durable: watchers' CPU | in-thread waiters' CPU |")
        print("| --- | --- | --- |")
        for count in (0, 50, 200):
            durable, in_thread = watching_cpu(app, count, 10.0)
            print(f"| {count} | {durable:.1%} of a core | {in_thread:.1%} of a core |")
    finally:
        app.close()


if __name__ == "__main__":
    main()

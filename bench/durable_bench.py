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
  Also the dispatcher's run threads then (``threads``): a paused group's queue
  should cost none.
- **drain**: ``DRAIN`` tiny runs (matmul, n = 64, one repeat) queued behind a
  paused group in a known order, then the group resumed: runs per second
  between the first and the last finish, and FIFO inversions (pairs that
  started in the other order than they were submitted, from ``task_run``).
  Baseline: as many threads queued in ``limiter.slot`` in order, each doing
  a 64 x 64 matmul in the slot.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.app import start_app  # noqa: E402
from core.limiter import GroupConfig, Limiter  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.worker.support import finished, run_row, set_group  # noqa: E402

DRAIN = 100
TINY = {"n": 64, "repeats": 1, "dtype": "float32"}


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


def watching_cpu(app, count: int, seconds: float) -> tuple[float, int, float]:
    """This process's CPU share with N waiting each way, and the dispatcher's run threads.

    (durable watchers, the dispatcher's threads meanwhile, in-thread waiters)
    """
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
    dispatcher_threads = len(app.dispatcher.active_ids())
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
    return durable, dispatcher_threads, in_thread


def inversions(starts: list) -> int:
    """Pairs (in submission order) that started in the other order."""
    return sum(1 for i, a in enumerate(starts) for b in starts[i + 1 :] if b < a)


@dataclass
class Drain:
    rate: float
    inversions: int
    run_s: list[float]
    """Each run's own time, start to end as recorded (durable: the row's times)."""
    gap_s: list[float]
    """From one run's end to the next run's start."""


def durable_drain(app, count: int, task: str = "matmul", settings: dict = TINY) -> Drain:
    set_group(app, "A", paused=True)
    ids = [app.runs.submit(task, settings, f"d{i}") for i in range(count)]
    set_group(app, "A", paused=False)
    rows = [finished(app, run_id) for run_id in ids]
    assert all(row.status == "succeeded" for row in rows), [row.error for row in rows]
    rows = [run_row(app, run_id) for run_id in ids]
    ends = sorted(row.finished_at for row in rows)
    span = (ends[-1] - ends[0]).total_seconds()
    return Drain(
        (count - 1) / span,
        inversions([row.started_at for row in rows]),
        [(row.finished_at - row.started_at).total_seconds() for row in rows],
        [
            (b.started_at - a.finished_at).total_seconds()
            for a, b in zip(rows, rows[1:], strict=False)
        ],
    )


def in_thread_drain(count: int) -> Drain:
    """The same matmul task body, run by threads queued in ``limiter.slot`` in order."""
    import torch

    from core.tasks import registry

    spec = registry.get("matmul")
    device = torch.device("cpu")
    limiter = Limiter()
    limiter.configure(GroupConfig(name="D", limit=1, paused=True))
    started, ended = [0.0] * count, [0.0] * count

    def one(index: int, queued: threading.Event) -> None:
        params = spec.parse(TINY, device)
        with limiter.slot("D", owner=f"d{index}", on_wait=lambda _info: queued.set()):
            started[index] = time.monotonic()
            spec.fn(params, lambda _fraction, _message: None, device)
            ended[index] = time.monotonic()

    threads = []
    for index in range(count):
        queued = threading.Event()
        threads.append(threading.Thread(target=one, args=(index, queued)))
        threads[-1].start()
        queued.wait()
    limiter.configure(GroupConfig(name="D", limit=1, paused=False))
    for thread in threads:
        thread.join()
    return Drain(
        (count - 1) / (max(ended) - min(ended)),
        inversions(started),
        [b - a for a, b in zip(started, ended, strict=False)],
        [b - a for a, b in zip(ended, started[1:], strict=False)],
    )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(
        f"{rounds} rounds, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f} at the start",
        flush=True,
    )
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
        print("\n| p50 / p95, ms | durable run (worker process) | in-thread `limiter.slot` |")
        print("| --- | --- | --- |")
        print(f"| submit → task starts, free slot | {_ms(durable_start)} | {_ms(thread_start)} |")
        print(f"| run ends → next run starts | {_ms(durable_handoff)} | {_ms(thread_handoff)} |")
        durable, in_thread = durable_drain(app, DRAIN), in_thread_drain(DRAIN)
        print(f"\n| drain of {DRAIN} tiny queued runs | durable | in-thread `limiter.slot` |")
        print("| --- | --- | --- |")
        print(f"| runs/s | {durable.rate:.1f} | {in_thread.rate:.1f} |")
        print(f"| FIFO inversions | {durable.inversions} | {in_thread.inversions} |")
        for label, durable_s, in_thread_s in (
            ("one run, start to end, p50 / p95 ms", durable.run_s, in_thread.run_s),
            ("end → next start, p50 / p95 ms", durable.gap_s, in_thread.gap_s),
        ):
            print(f"| {label} | {_ms(durable_s)} | {_ms(in_thread_s)} |")
        empty = durable_drain(app, DRAIN, "sleepy", {"steps": 0})
        print(
            f"\nThe same drain of runs whose task does nothing (sleepy, 0 steps): "
            f"{empty.rate:.1f} runs/s, {empty.inversions} FIFO inversions; one run "
            f"{_ms(empty.run_s)} ms, end → next start {_ms(empty.gap_s)} ms (p50 / p95)"
        )
        print("\n| N waiting | durable: watchers' CPU (threads) | in-thread waiters' CPU |")
        print("| --- | --- | --- |")
        for count in (0, 50, 200):
            durable, threads, in_thread = watching_cpu(app, count, 10.0)
            print(f"| {count} | {durable:.1%} of a core ({threads}) | {in_thread:.1%} of a core |")
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end", flush=True)
    finally:
        app.close()


if __name__ == "__main__":
    main()

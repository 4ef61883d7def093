"""Latency of durable runs, measured from outside, so one bench compares two versions of the code.

Run from anywhere with the project's Python::

    .venv/bin/python bench/durable_bench.py --tree /path/to/old --tree . --db both \\
        --rounds 100 --json durable.json

For each source tree and database a driver process (this file again, ``--drive``)
runs with the tree as its working directory and first on ``PYTHONPATH``, beside
this folder for the task module ``bench_stamp``. The driver uses only what every
version of Taskgate has had: ``Settings(database_url=..., default_limit=1)``,
``start_app``, ``app.runs.submit``, ``app.close`` and plain SQL reads of
``concurrency_group.limit`` and ``task_run.status``; the times come from the task
body itself (``bench_stamp`` writes ``time.time()`` when it starts and ends).

- **submit → start**: from just before ``submit`` to the first line of the task
  body, with the group's one slot free (the run is waited for).
- **hand-off**: two runs submitted back to back in the limit-1 group, the first
  holding its slot for ``--hold`` seconds so the second is queued behind it:
  from the last line of the first body to the first line of the second.

The driver alternates the two, one round each, so that a burst of load from
elsewhere on a shared machine lands on both alike.

A fresh SQLite file, or a fresh PostgreSQL database (created on ``--postgres``
and dropped afterwards), per tree, with the embedded dispatcher and warm worker
processes, as ``make run`` has. A few unmeasured rounds come first: the first
run waits for a worker process to import torch. Then the driver freezes its
objects out of the garbage collector's reach, as the served app does. Prints a
markdown table; ``--json`` keeps every measured latency.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text

HERE = Path(__file__).resolve().parent
TASK = "bench_stamp"
GROUP = "bench"
"""The task's default group: the bench's runs have it to themselves."""
POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/postgres"
WARMUP = 5
"""Unmeasured rounds of each kind before measuring."""
SETTLE_S = 0.2
"""Pause after each round: the slot is released after the final status is written."""
REPEATS = 10
"""Hand-off tries that may fail to queue the second run in time before the bench gives up."""
POLL_S = 0.02
WAIT_S = 120.0
"""Longest wait for one run to finish (a loaded machine starts a worker process slowly)."""
FINAL = ("succeeded", "failed", "cancelled", "timed_out", "rejected", "lost")
METRICS = (("submit_to_start_s", "submit → start"), ("handoff_s", "hand-off"))


class Driver:
    """Submits bench runs to a started App and reads their stamps and final status."""

    def __init__(self, app, engine: Engine, folder: Path, hold_s: float) -> None:
        self.app, self.engine, self.folder, self.hold_s = app, engine, folder, hold_s
        self.count = 0

    def submit(self, hold_s: float) -> tuple[str, Path]:
        self.count += 1
        log = self.folder / f"run-{self.count}.log"
        run_id = self.app.runs.submit(TASK, {"log": str(log), "hold_s": hold_s}, "bench")
        return run_id, log

    def finish(self, run_id: str) -> None:
        """Wait until the run's row has a final status; anything but success stops the bench."""
        deadline = time.monotonic() + WAIT_S
        while True:
            with self.engine.connect() as connection:
                status = connection.execute(
                    text("SELECT status FROM task_run WHERE id = :id"), {"id": run_id}
                ).scalar_one_or_none()
            if status == "succeeded":
                return
            if status in FINAL or time.monotonic() > deadline:
                raise RuntimeError(
                    f"run {run_id} is {status!r}, not succeeded (waited up to {WAIT_S} s)"
                )
            time.sleep(POLL_S)

    def submit_to_start(self) -> float:
        submitted = time.time()
        run_id, log = self.submit(0.0)
        self.finish(run_id)
        time.sleep(SETTLE_S)
        return stamps(log)["start"] - submitted

    def handoff(self) -> tuple[float, int]:
        """A hand-off latency, and how many tries before it were repeated for being none."""
        for repeated in range(REPEATS + 1):
            latency = self._try_handoff()
            if latency is not None:
                return latency, repeated
        raise RuntimeError("the second run was never queued in time: raise --hold")

    def _try_handoff(self) -> float | None:
        """Start of the second body minus end of the first; None if it was no hand-off.

        That is when the second submit returned only after the first body had
        ended (a starved driver on a busy machine). Two bodies that overlap mean
        the limit of 1 did not hold, and stop the bench.
        """
        first_id, first_log = self.submit(self.hold_s)
        second_id, second_log = self.submit(0.0)
        queued = time.time()
        self.finish(first_id)
        self.finish(second_id)
        time.sleep(SETTLE_S)
        first, second = stamps(first_log), stamps(second_log)
        if second["start"] < first["end"]:
            raise RuntimeError(f"two runs of group {GROUP} overlapped: its limit is not 1")
        return second["start"] - first["end"] if queued < first["end"] else None

    def group_limit(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                text('SELECT "limit" FROM concurrency_group WHERE name = :name'), {"name": GROUP}
            ).scalar_one()


def stamps(log: Path) -> dict[str, float]:
    """``{"start": EPOCH, "end": EPOCH}`` as the task body wrote them."""
    return {what: float(when) for what, when in (line.split() for line in log.open())}


@contextmanager
def database(kind: str, folder: Path, server: str) -> Iterator[str]:
    """A URL of an empty database: a new SQLite file, or a new PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    name = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:  # FORCE: the App's engines may still hold connections
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def drive(kind: str, rounds: int, hold_s: float, server: str, out: Path) -> None:
    """The driver process: measure one tree (the working directory) on one database."""
    import core
    from core.app import start_app
    from core.settings import Settings

    if not Path(core.__file__).resolve().is_relative_to(Path.cwd().resolve()):
        raise SystemExit(f"core was imported from {core.__file__}, not from {Path.cwd()}")
    with tempfile.TemporaryDirectory(prefix="durable-bench-") as temporary:
        folder = Path(temporary)
        with database(kind, folder, server) as url:
            app = start_app(Settings(database_url=url, default_limit=1))
            engine = create_engine(url)
            driver = Driver(app, engine, folder, hold_s)
            try:
                for _ in range(WARMUP):
                    driver.submit_to_start()
                    driver.handoff()
                # As the served app does once started (core/ui/memory.py): without it the App's
                # 10 s garbage-collection job walks torch's objects, holding the GIL ~0.15 s.
                gc.collect()
                gc.freeze()
                limit = driver.group_limit()
                if limit != 1:
                    raise RuntimeError(f"group {GROUP} has limit {limit}, not 1")
                starts, handoffs, repeated = [], [], 0
                for _ in range(rounds):
                    starts.append(driver.submit_to_start())
                    latency, tries = driver.handoff()
                    handoffs.append(latency)
                    repeated += tries
                results = {
                    "submit_to_start_s": starts,
                    "handoff_s": handoffs,
                    "handoff_rounds_repeated": repeated,
                }
            finally:
                app.close()
                engine.dispose()
    out.write_text(json.dumps(results))


def describe(tree: Path) -> str:
    """E.g. "45e9d55 baseline", or "45e9d55+dirty main" with changes not yet committed."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tree), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    dirty = "+dirty" if git("status", "--porcelain") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty} {tree.name}"


def measure(tree: Path, kind: str, args: argparse.Namespace) -> dict:
    """Run the driver for one tree and database; its own output goes to stderr."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TASKGATE_")
    }
    environment["TASKGATE_TASK_MODULES"] = TASK
    environment["PYTHONPATH"] = os.pathsep.join([str(tree), str(HERE)])
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, str(Path(__file__).resolve()), "--drive", kind, "--out"]
        command += [out.name, "--rounds", str(args.rounds), "--hold", str(args.hold)]
        command += ["--postgres", args.postgres]
        subprocess.run(command, cwd=tree, env=environment, stdout=sys.stderr, check=True)
        return json.loads(Path(out.name).read_text())


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of them at or below it."""
    return sorted(values)[max(0, math.ceil(share * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tree", type=Path, action="append", help="source tree (repeatable)")
    parser.add_argument("--rounds", type=int, default=100, help="measured runs per metric")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", type=Path, help="write every measured latency here")
    parser.add_argument("--hold", type=float, default=0.05, help="first hand-off run's body, s")
    parser.add_argument("--postgres", default=POSTGRES, help="server URL to create databases on")
    parser.add_argument("--drive", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive, args.rounds, args.hold, args.postgres, args.out)
        return
    if not args.tree:
        parser.error("name at least one --tree")
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    print(
        f"{args.rounds} rounds after {WARMUP} warm-up, hold {args.hold} s, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f} at the start\n",
        flush=True,
    )
    print("| tree | database | metric | p50 ms | p95 ms | max ms | n |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |", flush=True)
    results, notes = [], []
    trees = [(tree, describe(tree)) for tree in (path.resolve() for path in args.tree)]
    for kind in kinds:  # each database's trees back to back, for comparisons made close in time
        for tree, label in trees:
            before = os.getloadavg()[0]
            measured = measure(tree, kind, args)
            load = [before, os.getloadavg()[0]]
            results.append(
                {"tree": str(tree), "label": label, "database": kind, "load": load, **measured}
            )
            notes.append(
                f"- {label}, {kind}: load average {load[0]:.2f} → {load[1]:.2f}, "
                f"{measured['handoff_rounds_repeated']} hand-off rounds repeated "
                "(second run submitted after the first had ended)"
            )
            for key, name in METRICS:
                values = measured[key]
                cells = [statistics.median(values), percentile(values, 0.95), max(values)]
                shown = " | ".join(f"{value * 1e3:.1f}" for value in cells)
                print(f"| {label} | {kind} | {name} | {shown} | {len(values)} |", flush=True)
    print("", *notes, sep="\n", flush=True)
    if args.json:
        report = {"rounds": args.rounds, "warmup": WARMUP, "hold_s": args.hold}
        args.json.write_text(json.dumps({**report, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()

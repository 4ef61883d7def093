"""How fast the Admin page's history view renders over a week of one-second samples.

Run with ``.venv/bin/python bench/history_bench.py`` (SQLite), or add
``--postgres`` to run on the server named by ``TASKGATE_TEST_POSTGRES_URL``
(a private schema is created and dropped). The result is printed as a
markdown table for docs/BENCHMARKS.md.

The database gets 7 days of samples every second for 10 groups (6,048,000
rows), their per-minute roll-up (100,800 rows, computed from the samples
with one ``INSERT ... SELECT ... GROUP BY``; the app's sampler keeps it as it
samples) and 20,000 finished runs spread over the week. Then, in the same
run:

- baseline: one SQL query bucketing the week's samples (what the week chart
  would cost without the roll-up);
- series: ``occupancy_series`` for each window, the one query behind each
  chart (median of several);
- cold render: in a fresh process, the Admin page's first History render of
  "Last 7 days" just after the app started, with no warm-up of any kind;
- render: the same page re-rendered in that process (queries, percentiles,
  the recent-runs table, both Plotly figures); the median of several.

The generated SQLite file is kept under data/bench/ and reused by runs
within the hour after (later, or with ``--fresh``, it is rebuilt).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from core.metrics import HISTORY_WINDOWS, LIVE_WINDOW, occupancy_series, run_stats  # noqa: E402
from core.metrics.timeseries import MINUTES, SAMPLES, _bucket_of, bucketed, source_for  # noqa: E402
from db.engine import dispose_engines, get_engine  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import OccupancyMinute, OccupancySample, TaskRun, utcnow  # noqa: E402
from tests.support.database import postgres_schema_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GROUPS = [f"G{i:02d}" for i in range(10)]
DAYS = 7
RUNS = 20_000
RENDERS = 5
WEEK = HISTORY_WINDOWS[-1]
CHUNK = 50_000


def _sample_rows(start, seconds: int):
    rng = random.Random(7)
    state = {group: [rng.randint(1, 4), 0, 0] for group in GROUPS}  # limit, running, queued
    for second in range(seconds):
        ts = start + timedelta(seconds=second, microseconds=250_000)
        for group in GROUPS:
            limit, running, queued = state[group]
            if rng.random() < 0.01:
                running = rng.randint(0, limit)
                queued = rng.randint(0, 5) if running == limit else 0
                state[group] = [limit, running, queued]
            yield {"ts": ts, "group_name": group, "limit": limit, "running": running,
                   "queued": queued}  # fmt: skip


def _run_rows(start, seconds: int):
    rng = random.Random(11)
    for index in range(RUNS):
        enqueued = start + timedelta(seconds=rng.uniform(0, seconds - 600))
        started = enqueued + timedelta(seconds=rng.expovariate(1 / 20))
        status = "failed" if rng.random() < 0.05 else "succeeded"
        yield {
            "id": f"bench{index:08d}", "group_name": rng.choice(GROUPS), "task": "matmul",
            "owner": f"user{rng.randint(1, 30)}", "status": status, "enqueued_at": enqueued,
            "started_at": started,
            "finished_at": started + timedelta(seconds=rng.expovariate(1 / 45)),
            "host": "bench", "pid": 0,
        }  # fmt: skip


def _insert(engine, table, rows) -> None:
    batch = []
    with Session(engine) as session:
        for row in rows:
            batch.append(row)
            if len(batch) == CHUNK:
                session.execute(insert(table), batch)
                session.commit()
                batch.clear()
        if batch:
            session.execute(insert(table), batch)
            session.commit()


def _minute_of(ts, dialect: str):
    """The start of ``ts``'s minute, stored exactly as the sampler stores it."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:00.000000", ts)
    return func.date_trunc("minute", ts)


def _roll_up(engine) -> None:
    """The per-minute peaks of every sample, in one INSERT ... SELECT ... GROUP BY."""
    minute = _minute_of(OccupancySample.ts, engine.dialect.name)
    peaks = select(
        OccupancySample.group_name,
        minute,
        func.max(OccupancySample.running),
        func.max(OccupancySample.queued),
        func.max(OccupancySample.limit),
    ).group_by(OccupancySample.group_name, minute)
    columns = ["group_name", "minute", "max_running", "max_queued", "max_limit"]
    with Session(engine) as session:
        session.execute(insert(OccupancyMinute).from_select(columns, peaks))
        session.commit()


def fill(engine) -> None:
    """Write the week of samples, their roll-up and the runs, ending now."""
    seconds = DAYS * 24 * 3600
    start = utcnow() - timedelta(seconds=seconds)
    began = time.perf_counter()
    _insert(engine, OccupancySample, _sample_rows(start, seconds))
    _roll_up(engine)
    _insert(engine, TaskRun, _run_rows(start, seconds))
    print(f"generated the data in {time.perf_counter() - began:.0f} s", file=sys.stderr)


def _rows(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _fresh_enough(engine) -> bool:
    """Reuse kept data only if it and its roll-up still reach the present (a week ending now)."""
    recent = utcnow() - timedelta(hours=1)
    with Session(engine) as session:
        sample = session.exec(select(func.max(OccupancySample.ts))).one()
        minute = session.exec(select(func.max(OccupancyMinute.minute))).one()
    return sample is not None and minute is not None and min(sample, minute) > recent


def _timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def render_history(url: str) -> dict[str, float | list[float]]:
    """The first and later full renders of the History section (7 days) under AppTest.

    Runs in a process of its own (``--render``), so the first render finds
    nothing computed before it: the app starts, the admin signs in, opens
    History (the last hour) and picks the week, which is the render timed.
    """
    from tests.admin.apptest_admin import admin_page, show_section, sign_in

    os.environ.update(TASKGATE_DATABASE_URL=url, TASKGATE_ADMIN_PASSWORD="bench-password")
    at = show_section(sign_in(admin_page(), "bench-password"), "History")
    window = at.segmented_control(key="admin:history-window").set_value(WEEK.label)
    began = time.perf_counter()
    at = window.run()
    cold = time.perf_counter() - began
    assert not at.exception, at.exception
    times = []
    for _ in range(RENDERS):
        began = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - began)
        assert not at.exception, at.exception
    return {"cold": cold, "renders": times}


def _render_in_a_fresh_process(url: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--render", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.splitlines()[-1])


def measure(url: str, label: str) -> list[tuple[str, str, str]]:
    upgrade(url)
    engine = get_engine(url)
    if not _fresh_enough(engine):
        with Session(engine) as session:
            session.execute(delete(OccupancySample))
            session.execute(delete(OccupancyMinute))
            session.execute(delete(TaskRun))
            session.commit()
        fill(engine)
    dispose_engines()
    rendered = _render_in_a_fresh_process(url)  # first, before this process reads anything
    samples, minutes = _rows(engine, OccupancySample), _rows(engine, OccupancyMinute)
    now = utcnow()
    first, last = _bucket_of(now - WEEK.span, WEEK.bucket_s), _bucket_of(now, WEEK.bucket_s)
    baseline = _timed(lambda: bucketed(engine, SAMPLES, first, last, WEEK.bucket_s))
    runs = _rows(engine, TaskRun)
    rows = [
        (label, "rows", f"{samples:,} samples, {minutes:,} minute rows, {runs:,} runs"),
        (label, "baseline: one query bucketing the week's samples", f"{baseline:.2f} s"),
    ]
    for window in (LIVE_WINDOW, *HISTORY_WINDOWS):
        source = "roll-up" if source_for(window.bucket_s) is MINUTES else "samples"
        series = [_timed(lambda w=window: occupancy_series(engine, w)) for _ in range(RENDERS)]
        rows.append(
            (
                label,
                f"series: {window.label.lower()}, {window.bucket_s} s buckets, from {source}",
                f"{statistics.median(series) * 1000:.0f} ms",
            )
        )
    stats = _timed(lambda: run_stats(engine, now - WEEK.span, now))
    renders = rendered["renders"]
    dispose_engines()
    return [
        *rows,
        (label, "run stats with percentiles (SQL)", f"{stats * 1000:.0f} ms"),
        (label, "cold render: a new process's first History, 7 days", f"{rendered['cold']:.2f} s"),
        (
            label,
            f"render: History, 7 days, median of {RENDERS} more",
            f"{statistics.median(renders) * 1000:.0f} ms (max {max(renders) * 1000:.0f} ms)",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="use TASKGATE_TEST_POSTGRES_URL")
    parser.add_argument("--fresh", action="store_true", help="rebuild the SQLite data")
    parser.add_argument("--render", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render:
        print(json.dumps(render_history(args.render)))
        return 0
    if args.postgres:
        base = os.environ.get("TASKGATE_TEST_POSTGRES_URL")
        if not base:
            print("set TASKGATE_TEST_POSTGRES_URL to run on PostgreSQL", file=sys.stderr)
            return 2
        with postgres_schema_url(base) as url:
            rows = measure(url, "PostgreSQL")
    else:
        path = ROOT / "data" / "bench" / "history.db"
        if args.fresh:
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()
        rows = measure(f"sqlite:///{path}", "SQLite")
    print(f"\n{platform.processor() or platform.machine()}, Python {platform.python_version()}\n")
    print("| database | measure | result |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

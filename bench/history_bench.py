"""How fast the Admin page's history view renders over a week of one-second samples.

Run with ``.venv/bin/python bench/history_bench.py`` (SQLite), or add
``--postgres`` to run on the server named by ``TASKGATE_TEST_POSTGRES_URL``
(a private schema is created and dropped). The result is printed as a
markdown table for docs/BENCHMARKS.md.

The database gets 7 days of samples every second for 10 groups (6,048,000
rows) and 20,000 finished runs spread over the week. Then, in the same run:

- baseline: one SQL query bucketing the whole week (what a naive history
  view would run on every render);
- cold: the first ``OccupancyHistory.series`` for the week, which computes
  every settled bucket (the app does this once, in a job at start-up);
- warm: the same call again, which asks the database only for what is new;
- render: the whole Admin page, History section, "Last 7 days", under
  AppTest (queries, percentiles, the recent-runs table, both Plotly
  figures); the median of several renders.

The generated SQLite file is kept under data/bench/ and reused by runs
within the hour after (later, or with ``--fresh``, it is rebuilt).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from core.metrics import HISTORY_WINDOWS, OccupancyHistory, run_stats  # noqa: E402
from core.metrics.timeseries import _bucket_of, query_buckets  # noqa: E402
from db.engine import dispose_engines, get_engine  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import OccupancySample, TaskRun, utcnow  # noqa: E402
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


def fill(engine) -> None:
    """Write the week of samples and the runs, ending now."""
    seconds = DAYS * 24 * 3600
    start = utcnow() - timedelta(seconds=seconds)
    began = time.perf_counter()
    _insert(engine, OccupancySample, _sample_rows(start, seconds))
    _insert(engine, TaskRun, _run_rows(start, seconds))
    print(f"generated the data in {time.perf_counter() - began:.0f} s", file=sys.stderr)


def _rows(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _fresh_enough(engine) -> bool:
    """Reuse kept data only if it still reaches the present (a week ending now)."""
    with Session(engine) as session:
        newest = session.exec(select(func.max(OccupancySample.ts))).one()
    return newest is not None and newest > utcnow() - timedelta(hours=1)


def _timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def render_history_s(url: str) -> list[float]:
    """Seconds per full render of the History section (7 days) under AppTest."""
    import streamlit as st

    from core.ui import bootstrap
    from tests.admin.apptest_admin import admin_page, show_section, sign_in

    os.environ.update(TASKGATE_DATABASE_URL=url, TASKGATE_ADMIN_PASSWORD="bench-password")
    st.cache_resource.clear()
    try:
        bootstrap.started_app().history.warm()  # what the start-up job does
        at = show_section(sign_in(admin_page(), "bench-password"), "History")
        window = at.segmented_control(key="admin:history-window")
        at = window.set_value(WEEK.label).run()
        assert not at.exception, at.exception
        times = []
        for _ in range(RENDERS):
            began = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - began)
            assert not at.exception, at.exception
        return times
    finally:
        bootstrap.started_app().close()
        st.cache_resource.clear()


def measure(url: str, label: str) -> list[tuple[str, str, str]]:
    upgrade(url)
    engine = get_engine(url)
    if not _fresh_enough(engine):
        with Session(engine) as session:
            session.execute(delete(OccupancySample))
            session.execute(delete(TaskRun))
            session.commit()
        fill(engine)
    samples = _rows(engine, OccupancySample)
    now = utcnow()
    first, last = _bucket_of(now - WEEK.span, WEEK.bucket_s), _bucket_of(now, WEEK.bucket_s)
    baseline = _timed(lambda: query_buckets(engine, first, last, WEEK.bucket_s))
    history = OccupancyHistory(engine)
    cold = _timed(lambda: history.series(WEEK))
    warm = statistics.median(_timed(lambda: history.series(WEEK)) for _ in range(RENDERS))
    stats = _timed(lambda: run_stats(engine, now - WEEK.span, now))
    renders = render_history_s(url)
    render = statistics.median(renders)
    dispose_engines()
    return [
        (label, "rows", f"{samples:,} samples, {_rows(engine, TaskRun):,} runs"),
        (label, "baseline: one query bucketing the week", f"{baseline:.2f} s"),
        (label, "cold: first series() (start-up job)", f"{cold:.2f} s"),
        (label, "warm: series() again", f"{warm * 1000:.0f} ms ({baseline / warm:.0f}x faster)"),
        (label, "run stats with percentiles (SQL)", f"{stats * 1000:.0f} ms"),
        (
            label,
            f"render: History, 7 days, median of {RENDERS}",
            f"{render * 1000:.0f} ms (max {max(renders) * 1000:.0f} ms)",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="use TASKGATE_TEST_POSTGRES_URL")
    parser.add_argument("--fresh", action="store_true", help="rebuild the SQLite data")
    args = parser.parse_args()
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

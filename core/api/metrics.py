"""``/metrics``: Taskgate in Prometheus' text format, read from the queue at scrape time.

Nothing is counted in memory: a custom collector reads ``task_run`` and the
groups when Prometheus scrapes, so every web process and worker answers the
same true totals (a counter that lived in one process would miss the runs
other processes finished, and restart at 0 with it). Runs older than the
retention are pruned from ``task_run``; Prometheus' ``rate()`` treats the
drop as a counter reset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import anyio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.app import App
from core.metrics.sql import seconds_between
from db.models import FINISHED_STATUSES, TaskRun, Worker, utcnow

RUNS = TaskRun.__table__.c
WORKER = Worker.__table__.c
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

WAIT_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
RUN_BUCKETS_S = (0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
WORKER_ALIVE_S = 30.0
"""A worker whose heartbeat is older than this is not counted alive."""


def _histogram_rows(connection, start, end, buckets: tuple[float, ...], dialect: str):
    """Per group: the count at or under each bound, the count and the sum, in one query."""
    seconds = seconds_between(start, end, dialect)
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in buckets]
    query = (
        select(RUNS.group_name, *columns, func.count(), func.coalesce(func.sum(seconds), 0.0))
        .where(start.is_not(None), end.is_not(None))
        .group_by(RUNS.group_name)
    )
    return connection.execute(query).all()


class QueueCollector(Collector):
    """Occupancy, finished runs, waits, run times and liveness, read at each scrape."""

    def __init__(self, app_fn: Callable[[], App]) -> None:
        self._app_fn = app_fn

    def collect(self) -> Iterator[Metric]:
        app = self._app_fn()
        yield from self._groups(app)
        yield from self._runs(app)
        yield from self._liveness(app)

    def _groups(self, app: App) -> Iterator[Metric]:
        labels = ["group"]
        limit = GaugeMetricFamily(
            "taskgate_group_limit", "Runs a group may run at once.", labels=labels
        )
        running = GaugeMetricFamily(
            "taskgate_group_running", "Runs holding a slot (starting or running).", labels=labels
        )
        queued = GaugeMetricFamily(
            "taskgate_group_queued", "Runs waiting for a slot.", labels=labels
        )
        paused = GaugeMetricFamily(
            "taskgate_group_paused", "1 while the group is paused.", labels=labels
        )
        oldest = GaugeMetricFamily(
            "taskgate_group_oldest_wait_seconds",
            "How long the head of the queue has waited (0 when none waits).",
            labels=labels,
        )
        for name, group in sorted(app.occupancy.fresh().items()):
            limit.add_metric([name], group.limit)
            running.add_metric([name], group.running)
            queued.add_metric([name], group.queued)
            paused.add_metric([name], 1 if group.paused else 0)
            oldest.add_metric([name], group.oldest_wait_s or 0.0)
        yield from (limit, running, queued, paused, oldest)

    def _runs(self, app: App) -> Iterator[Metric]:
        finished = CounterMetricFamily(
            "taskgate_runs_finished",
            "Runs that ended, by outcome (their final status), group and task.",
            labels=["group", "task", "outcome"],
        )
        dialect = app.engine.dialect.name
        with app.db.read() as connection:
            counts = connection.execute(
                select(RUNS.group_name, RUNS.task, RUNS.status, func.count())
                .where(RUNS.status.in_(FINISHED_STATUSES))
                .group_by(RUNS.group_name, RUNS.task, RUNS.status)
            ).all()
            waits = _histogram_rows(
                connection, RUNS.enqueued_at, RUNS.started_at, WAIT_BUCKETS_S, dialect
            )
            runs = _histogram_rows(
                connection,
                RUNS.started_at,
                RUNS.finished_at,
                RUN_BUCKETS_S,
                dialect,
            )
        for group, task, status, count in counts:
            finished.add_metric([group, task, status], count)
        yield finished
        yield _histogram(
            "taskgate_run_wait_seconds",
            "From request to the run's start, for runs that started.",
            waits,
            WAIT_BUCKETS_S,
        )
        yield _histogram(
            "taskgate_run_duration_seconds",
            "From the run's start to its end, for runs that ended after starting.",
            runs,
            RUN_BUCKETS_S,
        )

    def _liveness(self, app: App) -> Iterator[Metric]:
        problems = app.health()
        up = GaugeMetricFamily(
            "taskgate_admitter_up", "1 while this process's admitter decides (as /readyz)."
        )
        up.add_metric([], 0 if problems else 1)
        yield up
        age = GaugeMetricFamily(
            "taskgate_admitter_last_decision_age_seconds",
            "Seconds since this process's admitter last looked at the queue.",
        )
        age.add_metric([], max(0.0, time.monotonic() - app.admitter.last_decision))
        yield age
        alive = GaugeMetricFamily(
            "taskgate_workers_alive",
            f"Executor processes (web servers and workers) with a heartbeat in the last "
            f"{WORKER_ALIVE_S:g} s.",
        )
        since = utcnow() - timedelta(seconds=WORKER_ALIVE_S)
        with app.db.read() as connection:
            count = connection.execute(
                select(func.count()).where(
                    WORKER.stopped_at.is_(None), WORKER.heartbeat_at >= since
                )
            ).scalar_one()
        alive.add_metric([], count)
        yield alive


def _histogram(name: str, documentation: str, rows, buckets: tuple[float, ...]) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=["group"])
    for row in sorted(rows, key=lambda r: r[0]):
        group, *at_or_under = row[: len(buckets) + 1]
        count, total = row[len(buckets) + 1], row[len(buckets) + 2]
        cumulative = [
            (_bound(bound), int(under or 0))
            for bound, under in zip(buckets, at_or_under, strict=True)
        ]
        cumulative.append(("+Inf", int(count)))
        family.add_metric([group], cumulative, float(total))
    return family


def _bound(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


class Metrics:
    """The ``/metrics`` route: a registry of one collector over this process's App."""

    def __init__(self, app_fn: Callable[[], App]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(QueueCollector(app_fn))
        self._app_fn = app_fn

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def routes(self) -> list[Route]:
        async def endpoint(_request: Request) -> Response:
            try:
                body = await anyio.to_thread.run_sync(self.text)
            except LookupError as problem:
                return Response(f"# {problem}\n", status_code=503, media_type=CONTENT_TYPE)
            return Response(body, media_type=CONTENT_TYPE)

        return [Route("/metrics", endpoint, methods=["GET"])]

"""Occupancy and queue length over time, downsampled into buckets by the database.

A chart over a window (the last 15 minutes, hour, day or week) gets one
point per group per bucket: the most runs at once, the longest queue and the
highest limit seen in that bucket, so a short burst still shows. The
database computes the buckets (``GROUP BY`` group and bucket index); Python
only ever sees one row per bucket.

Seven days of one-second samples for ten groups are six million rows, and
no database aggregates those in under a second. But a bucket that has
ended never changes again, so ``OccupancyHistory`` keeps the buckets it
has computed and asks the database only for those that are new since the
last call: the last minute or so. A scheduler job warms every window once
at start-up, off any page's path.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from core.limiter import GroupSnapshot
from core.metrics.sql import epoch_bucket
from db.models import OccupancySample, utcnow

SETTLE_S = 60.0
"""A bucket that ended this long ago is final: every sample for it has been committed."""


@dataclass(frozen=True)
class TimeWindow:
    """A trailing window of time, cut into buckets of ``bucket_s`` seconds."""

    label: str
    span: timedelta
    bucket_s: int


LIVE_WINDOW = TimeWindow("Last 15 minutes", timedelta(minutes=15), 1)
HISTORY_WINDOWS = (
    TimeWindow("Last hour", timedelta(hours=1), 10),
    TimeWindow("Last 24 hours", timedelta(hours=24), 120),
    TimeWindow("Last 7 days", timedelta(days=7), 900),
)


@dataclass(frozen=True)
class OccupancyPoint:
    """One group in one bucket (``at`` is the bucket's start)."""

    at: datetime
    running: int
    queued: int
    limit: int


Series = dict[str, list[OccupancyPoint]]

# bucket index -> {group: (running, queued, limit)}
_Buckets = dict[int, dict[str, tuple[int, int, int]]]


def query_buckets(engine: Engine, first: int, last: int, bucket_s: int) -> _Buckets:
    """Aggregate the samples of buckets ``first`` to ``last`` (inclusive) in the database."""
    bucket = epoch_bucket(OccupancySample.ts, bucket_s, engine.dialect.name).label("bucket")
    statement = (
        select(
            bucket,
            OccupancySample.group_name,
            func.max(OccupancySample.running),
            func.max(OccupancySample.queued),
            func.max(OccupancySample.limit),
        )
        .where(
            OccupancySample.ts >= _bucket_start(first, bucket_s),
            OccupancySample.ts < _bucket_start(last + 1, bucket_s),
        )
        .group_by(bucket, OccupancySample.group_name)
    )
    buckets: _Buckets = {}
    with Session(engine) as session:
        for index, group, running, queued, limit in session.exec(statement):
            buckets.setdefault(int(index), {})[group] = (running, queued, limit)
    return buckets


def _bucket_start(index: int, bucket_s: int) -> datetime:
    return datetime.fromtimestamp(index * bucket_s, UTC)


def _bucket_of(at: datetime, bucket_s: int) -> int:
    return math.floor(at.timestamp() / bucket_s)


class _SettledBuckets:
    """The final buckets of one window: a contiguous run ``[first, end)``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first = 0
        self.end = 0
        self.buckets: _Buckets = {}

    def keep_from(self, first: int) -> None:
        """Forget buckets before ``first``; start over if the run does not reach it."""
        if not self.first <= first <= self.end:
            self.first = self.end = first
            self.buckets = {}
            return
        for index in [i for i in self.buckets if i < first]:
            del self.buckets[index]
        self.first = first


class OccupancyHistory:
    """Per-group occupancy over trailing windows, from the database, with settled buckets kept."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._windows: dict[TimeWindow, _SettledBuckets] = {}
        self._lock = threading.Lock()

    def series(self, window: TimeWindow) -> Series:
        """Every group's points over ``window``, ending now, oldest first."""
        now = self._clock()
        size = window.bucket_s
        first = _bucket_of(now - window.span, size)
        last = _bucket_of(now, size)
        settled_end = _bucket_of(now - timedelta(seconds=SETTLE_S), size)
        cache = self._settled(window)
        with cache.lock:
            cache.keep_from(first)
            fresh = query_buckets(self._engine, cache.end, last, size) if cache.end <= last else {}
            for index in range(cache.end, settled_end):
                cache.buckets[index] = fresh.get(index, {})
            cache.end = max(cache.end, settled_end)
            merged = {**cache.buckets, **{i: b for i, b in fresh.items() if i >= cache.end}}
        return _to_series(merged, size)

    def warm(self, windows: Iterable[TimeWindow] = HISTORY_WINDOWS) -> None:
        """Compute every settled bucket of ``windows`` now, so the first chart is quick."""
        for window in windows:
            self.series(window)

    def _settled(self, window: TimeWindow) -> _SettledBuckets:
        with self._lock:
            return self._windows.setdefault(window, _SettledBuckets())


def _to_series(buckets: Mapping[int, Mapping[str, tuple[int, int, int]]], size: int) -> Series:
    series: Series = {}
    for index in sorted(buckets):
        at = _bucket_start(index, size)
        for group, (running, queued, limit) in buckets[index].items():
            series.setdefault(group, []).append(OccupancyPoint(at, running, queued, limit))
    return series


def with_snapshot(series: Series, snapshot: Mapping[str, GroupSnapshot], at: datetime) -> Series:
    """``series`` plus each group's state at ``at``, so a live chart ends at this instant."""
    result = {group: list(points) for group, points in series.items()}
    for group in snapshot.values():
        result.setdefault(group.name, []).append(
            OccupancyPoint(at, group.running, group.queued, group.limit)
        )
    return result

"""Occupancy and queue length over time, downsampled into buckets by the database.

A chart over a window (the last 15 minutes, hour, day or week) gets one
point per group per bucket: the most runs at once, the longest queue and the
highest limit seen in that bucket, so a short burst still shows. The
database computes the buckets (``GROUP BY`` group and bucket index); Python
only ever sees one row per bucket.

Seven days of one-second samples for ten groups are six million rows, and
no database aggregates those in under a second. So windows whose buckets
are whole minutes (the day and the week) read ``occupancy_minute``, the
per-minute peaks the sampler keeps current as it writes each sample: a
week is 10,080 rows per group, and the peak of whole minutes is the peak of
their peaks. Finer windows (the live quarter hour by the second, the last
hour by ten seconds) read the samples themselves, a few tens of thousands of
rows through the timestamp index. Either way every chart is one query, quick
from the first render after a start, with nothing kept in memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from core.limiter import GroupSnapshot
from core.metrics.sql import epoch_bucket
from db.models import OccupancyMinute, OccupancySample, utcnow


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


@dataclass(frozen=True)
class Source:
    """A table of peaks over time: when, whose, and the running, queued and limit values."""

    at: ColumnElement
    group: ColumnElement
    running: ColumnElement
    queued: ColumnElement
    limit: ColumnElement
    resolution_s: int


SAMPLES = Source(
    OccupancySample.__table__.c.ts,
    OccupancySample.__table__.c.group_name,
    OccupancySample.__table__.c.running,
    OccupancySample.__table__.c.queued,
    OccupancySample.__table__.c.limit,
    resolution_s=1,
)
MINUTES = Source(
    OccupancyMinute.__table__.c.minute,
    OccupancyMinute.__table__.c.group_name,
    OccupancyMinute.__table__.c.max_running,
    OccupancyMinute.__table__.c.max_queued,
    OccupancyMinute.__table__.c.max_limit,
    resolution_s=60,
)


def source_for(bucket_s: int) -> Source:
    """The per-minute roll-up when buckets are whole minutes, else the samples."""
    return MINUTES if bucket_s % MINUTES.resolution_s == 0 else SAMPLES


def occupancy_series(engine: Engine, window: TimeWindow, now: datetime | None = None) -> Series:
    """Every group's points over ``window``, ending ``now``, oldest first."""
    now = now or utcnow()
    size = window.bucket_s
    first, last = _bucket_of(now - window.span, size), _bucket_of(now, size)
    return bucketed(engine, source_for(size), first, last, size)


def bucketed(engine: Engine, source: Source, first: int, last: int, bucket_s: int) -> Series:
    """The peaks in ``source`` of buckets ``first`` to ``last`` (inclusive), computed in SQL."""
    bucket = epoch_bucket(source.at, bucket_s, engine.dialect.name).label("bucket")
    statement = (
        select(
            bucket,
            source.group,
            func.max(source.running),
            func.max(source.queued),
            func.max(source.limit),
        )
        .where(
            source.at >= _bucket_start(first, bucket_s),
            source.at < _bucket_start(last + 1, bucket_s),
        )
        .group_by(bucket, source.group)
        .order_by(bucket)
    )
    series: Series = {}
    with engine.connect() as connection:
        for index, group, running, queued, limit in connection.execute(statement):
            at = _bucket_start(int(index), bucket_s)
            series.setdefault(group, []).append(OccupancyPoint(at, running, queued, limit))
    return series


def _bucket_start(index: int, bucket_s: int) -> datetime:
    return datetime.fromtimestamp(index * bucket_s, UTC)


def _bucket_of(at: datetime, bucket_s: int) -> int:
    return math.floor(at.timestamp() / bucket_s)


def with_snapshot(series: Series, snapshot: Mapping[str, GroupSnapshot], at: datetime) -> Series:
    """``series`` plus each group's state at ``at``, so a live chart ends at this instant."""
    result = {group: list(points) for group, points in series.items()}
    for group in snapshot.values():
        result.setdefault(group.name, []).append(
            OccupancyPoint(at, group.running, group.queued, group.limit)
        )
    return result

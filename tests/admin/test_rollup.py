"""The per-minute roll-up the sampler keeps, against the samples it comes from."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from core.metrics import OccupancySampler, TimeWindow, occupancy_series
from core.metrics.timeseries import MINUTES, SAMPLES, bucketed, source_for
from db.models import OccupancyMinute
from tests.admin.support import Clock

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@dataclass
class GroupOccupancy:
    name: str
    limit: int
    running: int = 0
    queued: int = 0


class StubOccupancy:
    """Just the ``snapshot`` the sampler reads (``core.runs.occupancy``), set directly by a test."""

    def __init__(self, *groups: GroupOccupancy) -> None:
        self.groups = {group.name: group for group in groups}

    def snapshot(self) -> dict[str, GroupOccupancy]:
        return dict(self.groups)


def _minutes(engine) -> list[tuple]:
    with Session(engine) as session:
        rows = session.exec(
            select(OccupancyMinute).order_by(OccupancyMinute.group_name, OccupancyMinute.minute)
        ).all()
    return [(r.group_name, r.minute, r.max_running, r.max_queued, r.max_limit) for r in rows]


def test_each_sample_raises_its_minutes_peaks_and_never_lowers_them(db_engine):
    a, b = GroupOccupancy("A", limit=2), GroupOccupancy("B", limit=1)
    occupancy, clock = StubOccupancy(a, b), Clock(T0)
    sampler = OccupancySampler(db_engine, occupancy, clock)
    samples = [(5, 1, 0, 2), (20, 3, 0, 3), (40, 0, 4, 1), (65, 1, 0, 2)]
    for second, running, queued, limit in samples:
        clock.now = T0 + timedelta(seconds=second, microseconds=250_000)
        a.running, a.queued, a.limit = running, queued, limit
        assert sampler.sample() == 2
    assert _minutes(db_engine) == [
        ("A", T0, 3, 4, 3),
        ("A", T0 + timedelta(minutes=1), 1, 0, 2),
        ("B", T0, 0, 0, 1),
        ("B", T0 + timedelta(minutes=1), 0, 0, 1),
    ]


def test_a_sampler_without_the_lease_writes_no_roll_up(db_engine):
    clock = Clock(T0)
    occupancy = StubOccupancy(GroupOccupancy("A", limit=1, running=1))
    assert OccupancySampler(db_engine, occupancy, clock).sample() == 1
    assert OccupancySampler(db_engine, occupancy, clock).sample() == 0
    assert _minutes(db_engine) == [("A", T0, 1, 0, 1)]


def test_the_roll_up_buckets_exactly_like_the_samples(db_engine):
    rng = random.Random(3)
    groups = [GroupOccupancy("A", limit=3), GroupOccupancy("B", limit=1)]
    clock = Clock(T0)
    sampler = OccupancySampler(db_engine, StubOccupancy(*groups), clock)
    for second in range(0, 40 * 60, 7):  # 40 minutes, a sample every 7 s, off the minute
        clock.now = T0 + timedelta(seconds=second, milliseconds=300)
        for group in groups:
            group.running = rng.randint(0, group.limit)
            group.queued = rng.choice((0, 0, 0, rng.randint(1, 9)))
            if rng.random() < 0.02:
                group.limit = rng.randint(1, 4)
        sampler.sample()

    end = T0 + timedelta(minutes=40)
    for bucket_s in (120, 300, 900):
        first, last = int(T0.timestamp()) // bucket_s - 1, int(end.timestamp()) // bucket_s
        from_samples = bucketed(db_engine, SAMPLES, first, last, bucket_s)
        assert from_samples, bucket_s
        assert bucketed(db_engine, MINUTES, first, last, bucket_s) == from_samples, bucket_s
        window = TimeWindow("test", end - T0 + timedelta(seconds=bucket_s), bucket_s)
        assert occupancy_series(db_engine, window, end) == from_samples, bucket_s


def test_whole_minute_buckets_read_the_roll_up_and_finer_ones_the_samples():
    assert [source_for(s) for s in (1, 10, 30, 60, 120, 900)] == [SAMPLES] * 3 + [MINUTES] * 3

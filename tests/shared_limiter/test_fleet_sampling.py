"""One occupancy sample per interval for the whole fleet, however many processes sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.limiter import GroupConfig
from core.metrics import OccupancySampler
from db.engine import get_engine
from db.models import OccupancySample

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _samples(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(OccupancySample)).scalar_one()


def test_only_the_lease_holder_samples_and_another_takes_over_when_it_stops(
    make_shared, database_url
):
    engine = get_engine(database_url)
    clock = Clock()
    first_limiter, second_limiter = make_shared(), make_shared()
    first_limiter.configure(GroupConfig(name="A", limit=1))
    first = OccupancySampler(engine, first_limiter, clock, interval_s=1.0)
    second = OccupancySampler(engine, second_limiter, clock, interval_s=1.0)

    for _ in range(3):
        assert (first.sample(), second.sample()) == (1, 0)
        clock.now += timedelta(seconds=1)
    assert _samples(engine) == 3

    clock.now += timedelta(seconds=3)  # the first process stopped sampling
    assert second.sample() == 1
    assert first.sample() == 0
    assert _samples(engine) == 4

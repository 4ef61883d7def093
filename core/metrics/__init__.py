"""What the dashboard shows: occupancy sampled every second, and the history of runs.

Sampling (which also keeps a per-minute roll-up) and pruning run on the
scheduler; the queries behind the charts aggregate in the database (time
buckets, percentiles) and return one row per group and bucket, never every
sample.
"""

from core.metrics.run_stats import (
    GroupRunStats,
    Percentiles,
    RunCounts,
    RunRow,
    run_counts,
    run_stats,
    runs_since,
)
from core.metrics.sampling import OccupancySampler, Pruned, prune_history
from core.metrics.timeseries import (
    HISTORY_WINDOWS,
    LIVE_WINDOW,
    OccupancyPoint,
    Series,
    TimeWindow,
    occupancy_series,
    with_snapshot,
)

__all__ = [
    "HISTORY_WINDOWS",
    "LIVE_WINDOW",
    "GroupRunStats",
    "OccupancyPoint",
    "OccupancySampler",
    "Percentiles",
    "Pruned",
    "RunCounts",
    "RunRow",
    "Series",
    "TimeWindow",
    "occupancy_series",
    "prune_history",
    "run_counts",
    "run_stats",
    "runs_since",
    "with_snapshot",
]

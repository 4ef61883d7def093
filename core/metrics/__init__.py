"""What the dashboard shows: occupancy sampled every second, and the history of runs.

Sampling and pruning run on the scheduler; the queries behind the charts
aggregate in the database (time buckets, percentiles) and return one row per
group and bucket, never every sample.
"""

from core.metrics.run_stats import (
    GroupRunStats,
    Percentiles,
    RunCounts,
    RunRow,
    recent_runs,
    run_counts,
    run_stats,
)
from core.metrics.sampling import OccupancySampler, Pruned, prune_history
from core.metrics.timeseries import (
    HISTORY_WINDOWS,
    LIVE_WINDOW,
    OccupancyHistory,
    OccupancyPoint,
    Series,
    TimeWindow,
    with_snapshot,
)

__all__ = [
    "HISTORY_WINDOWS",
    "LIVE_WINDOW",
    "GroupRunStats",
    "OccupancyHistory",
    "OccupancyPoint",
    "OccupancySampler",
    "Percentiles",
    "Pruned",
    "RunCounts",
    "RunRow",
    "Series",
    "TimeWindow",
    "prune_history",
    "recent_runs",
    "run_counts",
    "run_stats",
    "with_snapshot",
]

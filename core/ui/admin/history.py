"""History: occupancy and queues over an hour, a day or a week, and what the runs came to.

The charts come from ``occupancy_series`` (bucketed in SQL; the day and the
week from the per-minute roll-up); the per-group table from window-function
percentiles in SQL; the recent-runs list is capped. Nothing here loads every
sample or every run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.app import App
from core.metrics import (
    HISTORY_WINDOWS,
    GroupRunStats,
    TimeWindow,
    occupancy_series,
    run_stats,
    runs_since,
)
from core.ui.admin.charts import occupancy_figure, queue_figure
from core.ui.admin.format import seconds, utc_time
from db.models import RUN_STATUSES, utcnow

RECENT_RUNS_SHOWN = 200


def _bucket_label(window: TimeWindow) -> str:
    size = window.bucket_s
    return f"{size} s" if size < 60 else f"{size // 60} min"


def stats_table(stats: list[GroupRunStats]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Group": s.group,
                "Runs": s.runs,
                "Failed": s.failures,
                "Runs per hour": round(s.runs_per_hour, 1),
                "Wait p50": seconds(s.wait.p50_s),
                "Wait p95": seconds(s.wait.p95_s),
                "Run time p50": seconds(s.run.p50_s),
                "Run time p95": seconds(s.run.p95_s),
            }
            for s in stats
        ]
    )


def show_history(app: App, group_names: list[str]) -> None:
    windows = {window.label: window for window in HISTORY_WINDOWS}
    label = st.segmented_control(
        "Time range",
        list(windows),
        default=HISTORY_WINDOWS[0].label,
        required=True,
        key="admin:history-window",
    )
    window = windows[label]
    now = utcnow()
    since = now - window.span
    series = occupancy_series(app.engine, window, now)
    if series:
        bucket = _bucket_label(window)
        st.markdown(
            f"**Occupancy** (UTC) — most runs at once in each {bucket}, "
            "against the group's limit (dashed)"
        )
        st.plotly_chart(occupancy_figure(series, since, now), key="admin:history-occupancy")
        st.markdown(f"**Queue length** (UTC) — longest queue in each {bucket}")
        st.plotly_chart(queue_figure(series, since, now), key="admin:history-queue")
    else:
        st.info(f"No occupancy was recorded in the {window.label.lower()}.")

    st.markdown(f"**Runs per group** — runs that finished in the {window.label.lower()}")
    stats = run_stats(app.engine, since, now)
    if stats:
        st.dataframe(stats_table(stats), hide_index=True)
    else:
        st.caption("No run finished in this time range.")

    st.markdown("**Recent runs** (times in UTC)")
    left, right = st.columns(2)
    groups = left.multiselect(
        "Groups", group_names, placeholder="All groups", key="admin:runs-groups"
    )
    statuses = right.multiselect(
        "Statuses", list(RUN_STATUSES), placeholder="All statuses", key="admin:runs-statuses"
    )
    runs = runs_since(app.engine, since, groups=groups, statuses=statuses, limit=RECENT_RUNS_SHOWN)
    if not runs:
        st.caption("No runs match.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Requested": utc_time(r.enqueued_at),
                    "Group": r.group,
                    "Task": r.task,
                    "Owner": r.owner,
                    "From": r.source,
                    "Status": r.status,
                    "Wait": seconds(r.wait_s),
                    "Run time": seconds(r.run_s),
                    "Error": r.error or "",
                }
                for r in runs
            ]
        ),
        hide_index=True,
    )
    if len(runs) == RECENT_RUNS_SHOWN:
        st.caption(f"Showing the newest {RECENT_RUNS_SHOWN}; narrow the filters to see others.")

"""The live view: a table of every group and the last 15 minutes, redrawn every second.

Only this fragment reruns each second, not the page, so the editor's forms
keep what the admin is typing. Each tick costs the limiter's snapshot, one
count of the last hour's runs, and one query bucketing the last 15 minutes
of samples (under a thousand rows per group, through the timestamp index);
the charts end with the snapshot itself, so they show a run the moment it
starts.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from core.app import App
from core.auth import Actor
from core.groups import group_sort_key
from core.limiter import GroupSnapshot
from core.metrics import LIVE_WINDOW, RunCounts, occupancy_series, run_counts, with_snapshot
from core.ui.admin.charts import occupancy_figure, queue_figure
from core.ui.admin.format import seconds
from core.ui.admin.run_actions import show_runs, show_workers
from core.ui.wording import plain
from db.models import utcnow

_CHART_CONFIG = {"displayModeBar": False}


def live_table(snapshot: dict[str, GroupSnapshot], counts: dict[str, RunCounts]) -> pd.DataFrame:
    rows = []
    for group in sorted(snapshot.values(), key=lambda g: group_sort_key(g.name)):
        done = counts.get(group.name, RunCounts(0, 0))
        rows.append(
            {
                "Group": plain(group.name),  # st.table cells are Markdown
                "Running / limit": f"{group.running} / {group.limit}",
                "Queued": group.queued,
                "Paused": "paused" if group.paused else "",
                "Oldest wait": seconds(group.oldest_wait_s),
                "Runs, last hour": done.runs,
                "Failed, last hour": done.failures,
            }
        )
    return pd.DataFrame(rows).set_index("Group") if rows else pd.DataFrame()


@st.fragment(run_every=1)
def show_live(app: App, actor: Actor) -> None:
    now = utcnow()
    snapshot = app.occupancy.snapshot()
    if not snapshot:
        st.info("There are no groups yet; create one under Groups.")
        return
    st.table(live_table(snapshot, run_counts(app.engine, now - timedelta(hours=1))))
    show_workers(app)
    show_runs(app, actor)
    series = with_snapshot(occupancy_series(app.engine, LIVE_WINDOW, now), snapshot, now)
    start = now - LIVE_WINDOW.span
    st.markdown(
        "**Occupancy, last 15 minutes** (UTC) — runs at once, against each group's limit (dashed)"
    )
    st.plotly_chart(
        occupancy_figure(series, start, now), key="admin:live-occupancy", config=_CHART_CONFIG
    )
    st.markdown("**Queue length, last 15 minutes** (UTC) — requests waiting for a slot")
    st.plotly_chart(queue_figure(series, start, now), key="admin:live-queue", config=_CHART_CONFIG)

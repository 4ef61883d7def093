"""The live view: a table of every group and the last 15 minutes, redrawn every second.

Only this fragment reruns each second, not the page, so the editor's forms
keep what the admin is typing. Each tick costs the occupancy snapshot, one
read of the active runs (for the table's oldest waits and the runs with
their buttons), one of the workers, one count of the last hour's runs, and
one query bucketing the last 15 minutes of samples (under a thousand rows
per group, through the timestamp index); the charts end with the snapshot
itself, so they show a run the moment it starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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
from core.worker.fleet_view import QueuedRow, active_runs
from db.models import group_name_key, utcnow

_CHART_CONFIG = {"displayModeBar": False}


def oldest_waits(runs: list[QueuedRow], now: datetime) -> dict[str, float]:
    """Each group's longest wait among its waiting runs, keyed by ``group_name_key``.

    From the runs the view lists, so the table and the rows below it agree
    even when the occupancy snapshot is a quarter of a second older.
    """
    waits: dict[str, float] = {}
    for run in runs:
        if run.position is not None:
            key = group_name_key(run.group)
            waits[key] = max(waits.get(key, 0.0), (now - run.since).total_seconds())
    return waits


def live_table(
    snapshot: dict[str, GroupSnapshot],
    counts: dict[str, RunCounts],
    waits: dict[str, float] | None = None,
) -> pd.DataFrame:
    rows = []
    for group in sorted(snapshot.values(), key=lambda g: group_sort_key(g.name)):
        done = counts.get(group.name, RunCounts(0, 0))
        from_rows = (waits or {}).get(group_name_key(group.name))
        waited = [w for w in (group.oldest_wait_s, from_rows) if w]
        rows.append(
            {
                "Group": plain(group.name),  # st.table cells are Markdown
                "Running / limit": f"{group.running} / {group.limit}",
                "Queued": group.queued,
                "Paused": "paused" if group.paused else "",
                "Oldest wait": seconds(max(waited) if waited else None),
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
    with app.db.read() as connection:
        runs = active_runs(connection)
    counts = run_counts(app.engine, now - timedelta(hours=1))
    st.table(live_table(snapshot, counts, oldest_waits(runs, now)))
    show_workers(app)
    show_runs(app, actor, runs)
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

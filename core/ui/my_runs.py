"""The "My runs" page: this owner's recent runs, and a way to run one again.

"Run again" does not start anything by itself: it fills the task's form
with the old settings and opens its page, where the user presses Run. That
keeps one way of starting a run, with one place that checks settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from core.app import App
from core.identity import Person
from core.run_history import RECENT_RUNS_LIMIT, recent_runs
from core.ui.owner import current_person
from core.ui.task_form import request_prefill
from core.ui.task_pages import page_for, task_pages
from core.ui.wording import plain, settings_line
from db.models import TaskRun

STATUS_LABELS = {
    "queued": "⏳ waiting",
    "running": "▶️ running",
    "succeeded": "✅ succeeded",
    "failed": "❌ failed",
    "cancelled": "⏹️ cancelled",
    "timed_out": "⌛ waited too long",
    "rejected": "🚦 refused",
    "lost": "❔ lost (server stopped)",
}

RECORDER_WAIT_S = 1.0
"""How long to let the run recorder catch up, so a run that just ended is listed as ended."""


def _aware(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without a time zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _browser_zone() -> ZoneInfo | None:
    try:
        name = st.context.timezone
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _note(run: TaskRun) -> str:
    """Why a run ended as it did, in words: the refusal or failure, or when it was cancelled."""
    if run.status == "cancelled":
        return "cancelled while running" if run.started_at else "cancelled while waiting"
    if not run.error:
        return ""
    _, _, sentence = run.error.partition(": ")
    return sentence or run.error


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def runs_table(runs: list[TaskRun], zone: ZoneInfo | None, now: datetime) -> pd.DataFrame:
    """One row per run with what a person looks for first: when, what, how it ended, how long."""
    rows = []
    for run in runs:
        enqueued, started = _aware(run.enqueued_at), _aware(run.started_at)
        finished = _aware(run.finished_at)
        page = page_for(run.task)
        fields = page.task.fields if page else ()
        rows.append(
            {
                "Requested": enqueued.astimezone(zone) if zone else enqueued,
                "Task": page.task.title if page else run.task,
                "Status": STATUS_LABELS.get(run.status, run.status),
                "Group": run.group_name,
                "Waited (s)": _seconds(enqueued, started or finished or now),
                "Ran (s)": _seconds(started, finished or now) if started else None,
                "Note": _note(run),
                "Settings": settings_line(fields, run.params or {}) or str(run.params or ""),
            }
        )
    return pd.DataFrame(rows)


def _run_label(run: TaskRun, zone: ZoneInfo | None) -> str:
    enqueued = _aware(run.enqueued_at)
    when = (enqueued.astimezone(zone) if zone else enqueued).strftime("%d %b %H:%M:%S")
    page = page_for(run.task)
    title = page.task.title if page else run.task
    return f"{when} · {title} · {STATUS_LABELS.get(run.status, run.status)}"


def _whose_runs(person: Person) -> str:
    if not person.is_guest:
        return (
            f"Runs requested by {plain(person.name)}, newest first (the last {RECENT_RUNS_LIMIT})."
        )
    return (
        f"Runs requested as {plain(person.name)} from this browser, newest first "
        f"(the last {RECENT_RUNS_LIMIT}). Sign in to see them from other browsers too."
    )


def show_my_runs(app: App) -> None:
    person = current_person()
    app.recorder.flush(timeout_s=RECORDER_WAIT_S)
    runs = recent_runs(app.engine, person.owner)
    st.title("My runs")
    st.caption(_whose_runs(person))
    if not runs:
        st.info("No runs yet. Start one from a task page:")
        for page in task_pages():
            st.page_link(page.page, label=page.task.title, icon=page.task.icon)
        return
    zone = _browser_zone()
    st.dataframe(
        runs_table(runs, zone, datetime.now(UTC)),
        hide_index=True,
        column_config={
            "Requested": st.column_config.DatetimeColumn(format="D MMM, HH:mm:ss"),
            "Waited (s)": st.column_config.NumberColumn(format="%.1f"),
            "Ran (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    again = [run for run in runs if page_for(run.task) is not None and run.params]
    if not again:
        return
    st.subheader("Run one again")
    chosen = st.selectbox(
        "Run", again, format_func=lambda run: _run_label(run, zone), key="taskgate.my_runs.again"
    )
    if st.button("Open its task with these settings", type="primary"):
        page = page_for(chosen.task)
        assert page is not None and chosen.params is not None
        request_prefill(page.task, chosen.params)
        st.switch_page(page.page)

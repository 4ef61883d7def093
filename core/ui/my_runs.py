"""The "My runs" page: this owner's recent runs, live, with Cancel, results and Run again.

The list is read from the database, so it shows runs started from any tab or
session. While some are queued or running the page watches them through the
process's run watcher (a blocking wait, as on a task page) and redraws the
table when one changes; when one ends the page reruns. A finished run's
result is decoded from the database only when it is chosen.

"Run again" does not start anything by itself: it fills the task's form
with the old settings and opens its page, where the user presses Run. That
keeps one way of starting a run, with one place that checks settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from core.app import App
from core.identity import Person
from core.run_history import RECENT_RUNS_LIMIT, recent_runs
from core.run_watch import RunView
from core.ui.api_tokens import show_api_tokens
from core.ui.owner import current_person
from core.ui.requester import requester
from core.ui.results import show_run_outcome
from core.ui.run_toasts import show_run_toasts, toast_run_changes
from core.ui.run_widget import wait_for_change
from core.ui.stop_check import stop_wakeup
from core.ui.task_form import request_prefill
from core.ui.task_pages import page_for, task_pages
from core.ui.wording import plain, settings_line
from db.models import ACTIVE_STATUSES, RunStatus, TaskRun

STATUS_LABELS = {
    "queued": "⏳ waiting",
    "running": "▶️ running",
    "succeeded": "✅ succeeded",
    "failed": "❌ failed",
    "cancelled": "⏹️ cancelled",
    "timed_out": "⌛ waited too long",
    "rejected": "🚦 refused",
    "lost": "❔ lost (its worker stopped)",
}


@overload
def _aware(moment: datetime) -> datetime: ...


@overload
def _aware(moment: datetime | None) -> datetime | None: ...


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
    """Why a run ended as it did: the sentence stored with it.

    Rows from before durable runs stored "ExcType: sentence"; the type is dropped.
    """
    if not run.error:
        return run.admin_note or ""
    kind, separator, sentence = run.error.partition(": ")
    return sentence if separator and kind.isidentifier() else run.error


def _status(run: TaskRun, view: RunView | None) -> str:
    label = STATUS_LABELS.get(run.status, run.status)
    if view is None:
        return label
    label = STATUS_LABELS.get(view.status, view.status)
    if view.status == RunStatus.QUEUED and view.position is not None:
        return f"{label} · {view.position} of {view.queued}" + (" (paused)" if view.paused else "")
    if view.status == RunStatus.RUNNING and view.progress_fraction is not None:
        return f"{label} · {view.progress_fraction:.0%}"
    return label


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def runs_table(
    runs: list[TaskRun],
    zone: ZoneInfo | None,
    now: datetime,
    views: dict[str, RunView] | None = None,
) -> pd.DataFrame:
    """One row per run with what a person looks for first: when, what, how it ended, how long.

    ``views`` are the live views of active runs, which supersede their rows.
    """
    rows = []
    for run in runs:
        view = (views or {}).get(run.id)
        enqueued = _aware(run.enqueued_at)
        started = view.started_at if view else _aware(run.started_at)
        finished = view.finished_at if view else _aware(run.finished_at)
        page = page_for(run.task)
        fields = page.task.fields if page else ()
        rows.append(
            {
                "Requested": enqueued.astimezone(zone) if zone else enqueued,
                "Task": page.task.title if page else run.task,
                "Status": _status(run, view),
                "Group": run.group_name,
                "Waited (s)": _seconds(enqueued, started or finished or now),
                "Ran (s)": _seconds(started, finished or now) if started else None,
                "Note": (view.error if view else None) or _note(run),
                "Settings": settings_line(fields, run.params or {}) or str(run.params or ""),
            }
        )
    return pd.DataFrame(rows)


def _run_label(run: TaskRun, zone: ZoneInfo | None) -> str:
    enqueued = _aware(run.enqueued_at)
    local = enqueued.astimezone(zone) if zone else enqueued
    when = f"{local.day} {local:%b, %H:%M:%S}"  # as the table shows it: 5 Dec, 07:32:36
    page = page_for(run.task)
    title = page.task.title if page else run.task
    return f"{when} · {title} · {STATUS_LABELS.get(run.status, run.status)}"


def _whose_runs(app: App, person: Person, owner: str) -> str:
    if app.settings.single_owner:
        return f"Runs requested by {plain(owner)}, newest first (the last {RECENT_RUNS_LIMIT})."
    if not person.is_guest:
        return (
            f"Runs requested by {plain(person.name)}, newest first (the last {RECENT_RUNS_LIMIT})."
        )
    return (
        f"Runs requested as {plain(person.name)} from this browser, newest first "
        f"(the last {RECENT_RUNS_LIMIT}). Sign in to see them from other browsers too."
    )


def _draw_table(slot, runs: list[TaskRun], zone: ZoneInfo | None, views: dict[str, RunView]):
    slot.dataframe(
        runs_table(runs, zone, datetime.now(UTC), views),
        hide_index=True,
        column_config={
            "Requested": st.column_config.DatetimeColumn(format="D MMM, HH:mm:ss"),
            "Waited (s)": st.column_config.NumberColumn(format="%.1f"),
            "Ran (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )


def _show_cancels(app: App, owner: str, active: list[TaskRun], zone: ZoneInfo | None) -> None:
    for run in active:

        def cancel(run_id: str = run.id) -> None:
            app.runs.cancel(run_id, actor=owner, owner=owner)

        st.button(
            f"Cancel {_run_label(run, zone)}",
            key=f"taskgate.my_runs.cancel.{run.id}",
            on_click=cancel,
            icon=":material/stop_circle:",
        )


def _show_result_picker(app: App, runs: list[TaskRun], zone: ZoneInfo | None) -> None:
    done = [run for run in runs if run.status not in ACTIVE_STATUSES]
    if not done:
        return
    st.subheader("Open a finished run")
    chosen = st.selectbox(
        "Run",
        done,
        index=None,
        placeholder="Choose a run to see its result or why it ended",
        format_func=lambda run: _run_label(run, zone),
        key="taskgate.my_runs.open",
    )
    if chosen is not None:
        view = app.watcher.view(chosen.id)
        if view is not None:
            page = page_for(chosen.task)
            show_run_outcome(app, page.task if page else None, view)


def _show_run_again(runs: list[TaskRun], zone: ZoneInfo | None) -> None:
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


def _watch(app: App, owner: str, slot, runs, zone, views: dict[str, RunView]) -> None:
    """Redraw the table while active runs change; rerun the page when one ends."""
    seen = {run_id: view.shown() for run_id, view in views.items()}
    with stop_wakeup() as wakeup:
        while True:
            current = wait_for_change(app, seen, wakeup, lambda: toast_run_changes(app, owner))
            if any(not view.active for view in current.values()):
                st.rerun()
            if any(seen.get(run_id) != view.shown() for run_id, view in current.items()):
                _draw_table(slot, runs, zone, current)
                seen = {run_id: view.shown() for run_id, view in current.items()}


def show_my_runs(app: App) -> None:
    person = current_person()
    owner = requester(app)
    runs = recent_runs(app.engine, owner)
    st.title("My runs")
    st.caption(_whose_runs(app, person, owner))
    toast_run_changes(app, owner)
    if not runs:
        st.info("No runs yet. Start one from a task page:")
        for page in task_pages():
            st.page_link(page.page, label=page.task.title, icon=page.task.icon)
        show_api_tokens(app, person)
        show_run_toasts(app, owner)
        return
    zone = _browser_zone()
    active = [run for run in runs if run.status in ACTIVE_STATUSES]
    views = app.watcher.wait([run.id for run in active], {}, 0.0) if active else {}
    table = st.empty()
    _draw_table(table, runs, zone, views)
    _show_cancels(app, owner, active, zone)
    _show_result_picker(app, runs, zone)
    _show_run_again(runs, zone)
    show_api_tokens(app, person)  # before the watch below, which blocks until a run changes
    if views:
        _watch(app, owner, table, runs, zone, views)
    show_run_toasts(app, owner)  # nothing to watch: look every few seconds, as Home does

"""How a run ended, on the page: the task's result with wait and run times, or one sentence.

Results are decoded from the database each time they are shown and never
kept in ``st.session_state``: a session holds run ids, so a closed tab
leaves nothing big behind.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.app import App
from core.run_watch import RunView
from core.runs import sql
from core.tasks.registry import TaskSpec
from core.ui.result_view import show_task_result
from core.ui.wording import duration, plain, settings_line
from core.worker import codec
from db.models import RunStatus


def timings_line(view: RunView) -> str:
    """E.g. "Waited 2.1 s for a slot in group A · ran 1.4 s on CPU (2 threads)"."""
    assert view.started_at is not None and view.finished_at is not None
    waited = (view.started_at - view.enqueued_at).total_seconds()
    ran = (view.finished_at - view.started_at).total_seconds()
    where = f" on {plain(view.device)}" if view.device else ""
    return (
        f"Waited {duration(max(waited, 0.0))} for a slot in group {plain(view.group)} · "
        f"ran {duration(max(ran, 0.0))}{where}"
    )


def load_result(app: App, run_id: str) -> Any:
    """The stored result of a run, decoded now; None if there is none."""
    with app.db.read() as connection:
        content = sql.result_of(connection, run_id)
    return None if content is None else codec.decode(content)


def show_run_outcome(app: App, spec: TaskSpec | None, view: RunView) -> None:
    """A finished run: its result with times and settings, or the sentence that says why not."""
    result = load_result(app, view.id) if view.status == RunStatus.SUCCEEDED else None
    show_outcome(spec, view, result)


def show_outcome(spec: TaskSpec | None, view: RunView, result: Any) -> None:
    """``show_run_outcome`` with the result already loaded (None if there is none)."""
    if view.status == RunStatus.SUCCEEDED:
        st.subheader("Result")
        st.caption(timings_line(view))
        if spec is not None:
            st.caption(plain(settings_line(spec.fields, view.params)))
        if result is None or spec is None:
            st.info("This run left no result to show.", icon=":material/info:")
        else:
            show_task_result(spec, result)
    elif view.status == RunStatus.CANCELLED:
        st.info(plain(view.error or "The run was cancelled."), icon=":material/stop_circle:")
    elif view.status in (RunStatus.REJECTED, RunStatus.TIMED_OUT):
        st.warning(plain(view.error or "The run was refused."), icon=":material/block:")
    else:
        st.error(plain(view.error or "The run did not finish."), icon=":material/error:")

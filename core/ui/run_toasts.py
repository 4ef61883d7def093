"""A toast when one of this owner's runs starts or ends while they look at another page.

Cheap on purpose: the check runs only where a page calls it (Home's live
fragment, a task page while it watches, My runs), at most every
``CHECK_EVERY_S`` per session, and after the first look only while the
session knows of a run still queued or running: one small indexed query.
``st.session_state`` keeps ``{run id: status}`` of what was last seen.
"""

from __future__ import annotations

import time

import streamlit as st

from core.app import App
from core.run_history import run_statuses
from core.tasks import registry

CHECK_EVERY_S = 2.0
_SEEN_KEY = "taskgate.toasts.seen"
_CHECKED_KEY = "taskgate.toasts.checked"

_ENDINGS = {
    "succeeded": ("finished: its result is ready", ":material/check_circle:"),
    "failed": ("failed", ":material/error:"),
    "cancelled": ("was cancelled", ":material/stop_circle:"),
    "timed_out": ("waited too long and was withdrawn", ":material/timer_off:"),
    "rejected": ("was refused", ":material/block:"),
    "lost": ("was lost when its worker stopped", ":material/help:"),
}


def _title(task: str) -> str:
    spec = registry.tasks().get(task)
    return spec.title if spec is not None else task


def toast_run_changes(app: App, owner: str, quiet_for: str | None = None) -> None:
    """Toast each run of ``owner`` that started or ended since this session last looked.

    ``quiet_for`` is a run the page already shows live; it is noted, not toasted.
    """
    seen: dict[str, str] | None = st.session_state.get(_SEEN_KEY)
    now = time.monotonic()
    if seen is not None and not (quiet_for is not None and quiet_for not in seen):
        if now - st.session_state.get(_CHECKED_KEY, 0.0) < CHECK_EVERY_S:
            return
        if not any(status in ("queued", "running") for status in seen.values()):
            return
    st.session_state[_CHECKED_KEY] = now
    current = run_statuses(app.engine, owner)
    if seen is not None:
        for run_id, (task, status) in current.items():
            before = seen.get(run_id)
            if before == status or run_id == quiet_for or before is None:
                continue
            if status == "running":
                st.toast(f"Your {_title(task)} run started.", icon=":material/play_circle:")
            elif status in _ENDINGS:
                what, icon = _ENDINGS[status]
                st.toast(f"Your {_title(task)} run {what}.", icon=icon)
    st.session_state[_SEEN_KEY] = {run_id: status for run_id, (_, status) in current.items()}

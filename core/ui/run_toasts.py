"""A toast when one of this owner's runs starts or ends while they look at another page.

Cheap on purpose, because every watching page calls it: the check runs
only where a page calls it (Home's live fragment, a task page and My runs
each time their wait ends), and after the first look only while the
session knows of a run still queued or running. Those runs' statuses come
from the ``RunWatcher``, which reads every watched run in one query for all
sessions, so a look reads memory, not the database; the owner's newest runs
are read again (one small indexed query) at most every ``RESCAN_EVERY_S``,
to learn of runs requested from another tab. ``st.session_state`` keeps
``{run id: (task, status)}`` of what was last seen; a waiting page adds
``toasted_runs()`` to the runs it waits on, so a status change wakes it.
"""

from __future__ import annotations

import math
import time

import streamlit as st

from core.app import App
from core.run_history import run_statuses
from core.tasks import registry
from db.models import ACTIVE_STATUSES, RunStatus

RESCAN_EVERY_S = 30.0
"""Least time between two reads of the owner's runs by one session (Home's fragment looks
every 2 s; a watching page looks when its wait ends, see core/ui/run_widget.py)."""
_SEEN_KEY = "taskgate.toasts.seen"
_SCANNED_KEY = "taskgate.toasts.scanned"

_ENDINGS = {
    "succeeded": ("finished: its result is ready", ":material/check_circle:"),
    "failed": ("failed", ":material/error:"),
    "cancelled": ("was cancelled", ":material/stop_circle:"),
    "timed_out": ("waited too long and was withdrawn", ":material/timer_off:"),
    "rejected": ("was refused", ":material/block:"),
    "lost": ("was lost when its worker stopped", ":material/help:"),
}

Seen = dict[str, tuple[str, str]]
"""Run id -> (task key, status)."""


def _title(task: str) -> str:
    spec = registry.tasks().get(task)
    return spec.title if spec is not None else task


def changes(seen: Seen, current: Seen, quiet_for: str | None = None) -> list[tuple[str, str]]:
    """The toasts (text, icon) for runs whose status moved from ``seen`` to ``current``.

    A run not seen before, or the one the page shows live (``quiet_for``), gets none.
    """
    toasts = []
    for run_id, (task, status) in current.items():
        before = seen.get(run_id)
        if before is None or before[1] == status or run_id == quiet_for:
            continue
        if status == RunStatus.RUNNING:
            toasts.append((f"Your {_title(task)} run started.", ":material/play_circle:"))
        elif status in _ENDINGS:
            what, icon = _ENDINGS[status]
            toasts.append((f"Your {_title(task)} run {what}.", icon))
    return toasts


def toasted_runs() -> list[str]:
    """The runs this session would toast when their status moves: those it saw queued or running."""
    seen: Seen = st.session_state.get(_SEEN_KEY) or {}
    return [run_id for run_id, (_, status) in seen.items() if status in ACTIVE_STATUSES]


def toast_run_changes(app: App, owner: str, quiet_for: str | None = None) -> None:
    """Toast each run of ``owner`` that started or ended since this session last looked.

    ``quiet_for`` is a run the page already shows live; it is noted, not toasted.
    """
    seen: Seen | None = st.session_state.get(_SEEN_KEY)
    now = time.monotonic()
    new_run = quiet_for is not None and (seen is None or quiet_for not in seen)
    active = toasted_runs()
    if seen is not None and not new_run and not active:
        return
    if (
        seen is None
        or new_run
        or now - st.session_state.get(_SCANNED_KEY, -math.inf) >= RESCAN_EVERY_S
    ):
        current = run_statuses(app.engine, owner)
        st.session_state[_SCANNED_KEY] = now
    else:
        current = dict(seen)
        for run_id, view in app.watcher.views(active).items():
            current[run_id] = (current[run_id][0], view.status)
        if current == seen:
            return
    for text, icon in changes(seen or {}, current, quiet_for):
        st.toast(text, icon=icon)
    st.session_state[_SEEN_KEY] = current


TOAST_EVERY_S = 2.0
"""How often a page that does not watch runs itself (an idle task page, My runs with nothing
active, the admin page) looks for its owner's runs starting or ending, as Home does."""


def show_run_toasts(app: App, owner: str) -> None:
    """Toast this owner's runs starting and ending while they sit on a page that does not watch.

    A fragment that reruns alone every ``TOAST_EVERY_S``. Only for a page whose
    script run ends: one that blocks watching runs toasts from its wait instead
    (``wait_for_change``), and a fragment could not rerun under it anyway.
    """

    @st.fragment(run_every=TOAST_EVERY_S)
    def toasts() -> None:
        toast_run_changes(app, owner)

    toasts()

"""One durable run on a page, drawn from what the run watcher reports and kept live.

The page's script thread never holds a slot: it waits on the process's
``RunWatcher`` (a blocking wait that returns when what the run shows
changed, or after ``WAIT_S``), redraws only what changed, and passes
Streamlit's stop check (core/ui/stop_check.py) after every wait, so a
rerun, a page switch or a closed tab ends the *watching* at once and
leaves the run itself alone. When the run ends the page reruns to show its
outcome with the form ready again.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.app import App
from core.run_watch import RunView
from core.ui.stop_check import stop_if_requested
from core.ui.wording import duration, estimate, plain

WAIT_S = 1.0
"""Longest a watching script thread blocks before its stop check: Streamlit stops it then."""


def queue_sentence(
    group: str, position: int | None, queued: int | None, paused: bool, eta_s: float | None
) -> str:
    """E.g. "Waiting for a slot in group A — position 2 of 3, about 20 s."."""
    name = plain(group)
    place = f"position {position} of {queued}"
    if paused:
        return f"Group {name} is paused, so no run starts for now; you keep your place ({place})."
    return f"Waiting for a slot in group {name} — {place}, {estimate(eta_s)}."


def waiting_sentence(view: RunView) -> str:
    """A queued run's place and wait, with the latest admin action on it."""
    sentence = queue_sentence(view.group, view.position, view.queued, view.paused, view.eta_s)
    return f"{sentence} {plain(view.admin_note)}" if view.admin_note else sentence


def running_line(group: str, device: str, waited_s: float) -> str:
    """E.g. "Running in group A on CPU · waited 2.1 s for a slot"."""
    where = f" on {plain(device)}" if device else ""
    waited = duration(max(waited_s, 0.0))
    return f"Running in group {plain(group)}{where} · waited {waited} for a slot"


def running_caption(view: RunView) -> str:
    waited = (view.started_at - view.enqueued_at).total_seconds() if view.started_at else 0.0
    return running_line(view.group, view.device, waited)


class LiveRun:
    """The placeholders of one active run: a headline, a progress bar and Cancel."""

    def __init__(self, view: RunView, on_cancel: Callable[[], None], key: str) -> None:
        area = st.container()
        self._headline = area.empty()
        self._bar = area.empty()
        area.button(
            "Cancel",
            key=key,
            on_click=on_cancel,
            disabled=view.cancel_requested,
            help="Takes the run out of the queue, or stops it at its next step.",
        )

    def draw(self, view: RunView) -> None:
        if view.cancel_requested:
            self._headline.info("Cancelling…", icon=":material/stop_circle:")
        elif view.status == "queued":
            self._headline.info(waiting_sentence(view), icon=":material/hourglass_top:")
        else:
            self._headline.caption(running_caption(view))
        if view.status == "running":
            fraction = min(max(view.progress_fraction or 0.0, 0.0), 1.0)
            self._bar.progress(fraction, text=plain(view.progress_message or "Starting…"))
        else:
            self._bar.empty()


def watch_until_finished(
    app: App,
    view: RunView,
    on_cancel: Callable[[], None],
    key: str,
    tick: Callable[[], None] | None = None,
) -> RunView:
    """Draw ``view`` live until the run ends; return its final view.

    Returns only when the run has ended; a stop or rerun of this script run
    raises out of ``stop_if_requested`` as Streamlit intends.
    """
    live = LiveRun(view, on_cancel, key)
    live.draw(view)
    seen = {view.id: view.shown()}
    while True:
        current = app.watcher.wait([view.id], seen, WAIT_S).get(view.id, view)
        stop_if_requested()
        if tick is not None:
            tick()
        if not current.active:
            return current
        if current.shown() != seen[view.id]:
            live.draw(current)
            seen = {view.id: current.shown()}

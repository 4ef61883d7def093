"""One durable run on a page, drawn from what the run watcher reports and kept live.

The page's script thread never holds a slot: it blocks on the process's
``RunWatcher`` until something it shows changes (the run, or a run its
toasts follow), Streamlit asks this script run to stop or rerun (the stop
sentry, core/ui/stop_check.py), or ``LONGEST_WAIT_S`` passes, and redraws
only what changed. A rerun, a page switch or a closed tab thus ends the
*watching* within the sentry's look and leaves the run itself alone, and a
page watching a quiet queue costs nothing between changes. When the run
ends the page reruns to show its outcome with the form ready again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from core.app import App
from core.run_watch import RunView
from core.ui.run_toasts import toasted_runs
from core.ui.stop_check import StopWakeup, stop_if_requested, stop_wakeup
from core.ui.wording import duration, estimate, plain
from db.models import RunStatus

LONGEST_WAIT_S = 300.0
"""Longest a watching page blocks while nothing it shows changes. Only then do its toasts
look for runs its owner requested in other tabs (each look is a query per session: 200
pages waking every 30 s for it cost more than everything else that watching costs)."""


def queue_sentence(
    group: str,
    position: int | None,
    queued: int | None,
    paused: bool,
    eta_s: float | None,
    timeout_s: float | None = None,
) -> str:
    """E.g. "Waiting for a slot in group A — position 2 of 3, about 20 s.".

    ``timeout_s``: the group's queue timeout, when it will end the wait before
    the estimate does; the sentence then says so instead of promising the estimate.
    """
    name = plain(group)
    place = f"position {position} of {max(queued or 0, position or 0)}"
    withdrawn = (
        "" if timeout_s is None else f"may be withdrawn at the queue timeout ({timeout_s:g} s)"
    )
    if paused:
        keep = f"Group {name} is paused, so no run starts for now; you keep your place ({place})"
        return f"{keep} but {withdrawn}." if timeout_s is not None else f"{keep}."
    wait = estimate(eta_s) if timeout_s is None else withdrawn
    return f"Waiting for a slot in group {name} — {place}, {wait}."


def waiting_sentence(view: RunView) -> str:
    """A queued run's place and wait, with the latest admin action on it."""
    timeout_s = view.queue_timeout_s if view.timeout_first else None
    sentence = queue_sentence(
        view.group, view.position, view.queued, view.paused, view.eta_s, timeout_s
    )
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

    def __init__(
        self, view: RunView, on_cancel: Callable[[], None], key: str, heading: str | None = None
    ) -> None:
        area = st.container(border=heading is not None)
        if heading is not None:
            area.caption(heading)
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
        elif view.granted and view.status == RunStatus.QUEUED:
            self._headline.info(
                f"A slot in group {plain(view.group)} is yours; starting…",
                icon=":material/hourglass_bottom:",
            )
        elif view.status == RunStatus.QUEUED:
            self._headline.info(waiting_sentence(view), icon=":material/hourglass_top:")
        else:
            self._headline.caption(running_caption(view))
        if view.status == RunStatus.RUNNING:
            fraction = min(max(view.progress_fraction or 0.0, 0.0), 1.0)
            self._bar.progress(fraction, text=plain(view.progress_message or "Starting…"))
        else:
            self._bar.empty()


def wait_for_change(
    app: App, seen: dict[str, tuple], wakeup: StopWakeup, tick: Callable[[], None]
) -> dict[str, RunView]:
    """Toast what moved, then block until one of the runs in ``seen`` changes; their views.

    ``seen`` maps the runs the page draws to the ``RunView.shown()`` drawn.
    The wait also ends when a run the toasts follow changes (``tick``, the
    page's ``toast_run_changes``, toasts it on the next call), when Streamlit
    asks this script run to stop or rerun (raised here, as Streamlit
    intends), or after ``LONGEST_WAIT_S`` so the toasts learn of runs
    requested in other tabs. The toasted runs' views are taken before ``tick``
    looks, so a change between the two still ends the wait.
    """
    others = [run_id for run_id in toasted_runs() if run_id not in seen]
    also = {run_id: view.shown() for run_id, view in app.watcher.views(others).items()}
    tick()
    current = app.watcher.wait(
        [*seen, *also], {**seen, **also}, wakeup.bound(LONGEST_WAIT_S), wakeup.event
    )
    stop_if_requested()
    return {run_id: current[run_id] for run_id in seen if run_id in current}


def watch_until_finished(
    app: App,
    view: RunView,
    on_cancel: Callable[[], None],
    key: str,
    tick: Callable[[], None],
) -> RunView:
    """Draw ``view`` live until the run ends; return its final view.

    ``tick`` is the page's toast check (see ``wait_for_change``). Returns
    only when the run has ended; a stop or rerun of this script run raises
    out of the wait as Streamlit intends.
    """
    return watch_runs(app, [view], lambda _: on_cancel(), lambda _: None, tick, keys=[key])


def watch_runs(
    app: App,
    views: list[RunView],
    on_cancel: Callable[[str], None],
    heading: Callable[[RunView], str | None],
    tick: Callable[[], None],
    keys: list[str] | None = None,
) -> RunView:
    """Draw each of ``views`` live, in order, until one of them ends; return its final view.

    ``on_cancel`` gets the run's id; ``heading`` gives a line above a run (or
    None); ``keys`` are the Cancel buttons' keys (by default one per run id).
    """
    lives = {}
    for index, view in enumerate(views):
        key = keys[index] if keys else f"taskgate.cancel.{view.id}"
        lives[view.id] = LiveRun(view, partial(on_cancel, view.id), key, heading(view))
        lives[view.id].draw(view)
    seen = {view.id: view.shown() for view in views}
    with stop_wakeup() as wakeup:
        while True:
            current = wait_for_change(app, seen, wakeup, tick)
            for run_id, view in current.items():
                if not view.active:
                    return view
                if view.shown() != seen[run_id]:
                    lives[run_id].draw(view)
                    seen[run_id] = view.shown()

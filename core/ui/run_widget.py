"""Run one task through its group on the page's own script thread, showing where it stands.

While waiting the page shows the queue position and an estimate, while
running a progress bar with the task's messages, and a Cancel button
throughout. Cancellation needs no thread of its own: a Cancel click (like any
rerun, a page switch or a closed tab) makes Streamlit raise ``StopException``
or ``RerunException`` at this thread's next yield point, and the limiter's
``on_wait`` callback and the task's progress callback are made into yield
points (they update a placeholder, or call ``stop_if_requested``). So a
queued request leaves the queue within one ``on_wait`` interval (~0.1 s) and a
running task stops at its next progress step.

``limiter.slot`` is the innermost context manager: on that exception it
gives the slot back and records the run as cancelled, in plain Python, before
anything else runs. Nothing here catches the exception or calls ``st.*`` on
the way out, because after a stop every ``st.*`` call raises again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

import streamlit as st
import torch

from core.limiter import LimiterError, RunInfo, WaitInfo
from core.tasks.device import describe
from core.tasks.registry import TaskSpec
from core.ui.outcome import Outcome, failure_sentence
from core.ui.stop_check import stop_if_requested
from core.ui.wording import duration, estimate, plain

logger = logging.getLogger(__name__)

REDRAW_INTERVAL_S = 0.25
"""Fastest the progress bar is redrawn; progress reported in between is only a stop check.

Every redraw costs the server and the browser CPU that, on a small host, the task and
the other sessions' polling threads need; four updates a second still look live."""


class Slots(Protocol):
    """What this module needs of a limiter: the in-process one and the shared one both fit."""

    def slot(
        self,
        group: str,
        *,
        owner: str,
        task: str,
        params: dict[str, Any] | None,
        on_wait: Callable[[WaitInfo], object] | None,
    ) -> AbstractContextManager[RunInfo]: ...


def waiting_sentence(info: WaitInfo) -> str:
    """E.g. "Waiting for a slot in group A — position 2 of 3, about 20 s."."""
    group = plain(info.group)
    place = f"position {info.position} of {info.queued}"
    if info.paused:
        return f"Group {group} is paused, so no run starts for now; you keep your place ({place})."
    return f"Waiting for a slot in group {group} — {place}, {estimate(info.eta_s)}."


class RunView:
    """The placeholders one run draws into, and the callbacks that draw them.

    Each callback either redraws (a yield point) or calls
    ``stop_if_requested``, so every call is a chance for Streamlit to stop
    the thread, however little changed.
    """

    def __init__(
        self, group: str, device_name: str, cancel_key: str, on_cancel: Callable[[], None]
    ):
        self._group = group
        self._device_name = device_name
        area = st.container()
        self._headline = area.empty()
        self._bar = area.empty()
        area.button("Cancel", key=cancel_key, on_click=on_cancel)
        self._shown_wait = ""
        self._last_drawn = -math.inf

    def waiting(self, info: WaitInfo) -> None:
        sentence = waiting_sentence(info)
        if sentence == self._shown_wait:
            stop_if_requested()
            return
        self._headline.info(sentence, icon=":material/hourglass_top:")
        self._shown_wait = sentence

    def started(self, run: RunInfo) -> None:
        self._headline.caption(
            f"Running in group {plain(self._group)} on {plain(self._device_name)} · "
            f"waited {duration(run.wait_s)} for a slot"
        )
        self._bar.progress(0.0, text="Starting…")
        self._last_drawn = time.monotonic()

    def progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_drawn < REDRAW_INTERVAL_S:
            stop_if_requested()
            return
        self._bar.progress(min(max(fraction, 0.0), 1.0), text=plain(message))
        self._last_drawn = now


def run_in_group(
    limiter: Slots,
    spec: TaskSpec,
    params: Any,
    settings: Mapping[str, object],
    *,
    owner: str,
    device: torch.device,
    cancel_key: str,
    on_cancel: Callable[[], None],
) -> Outcome:
    """Wait for a slot of ``spec.group``, run the task in it and say how it ended.

    Refusals and task errors become an Outcome with one sentence; Streamlit's
    stop and rerun (BaseExceptions) pass straight through, after the limiter
    has released the slot.
    """
    device_name = describe(device)
    view = RunView(spec.group, device_name, cancel_key, on_cancel)
    ended = {"settings": settings, "group": spec.group, "device": device_name}
    try:
        with limiter.slot(
            spec.group, owner=owner, task=spec.key, params=dict(settings), on_wait=view.waiting
        ) as run:
            view.started(run)
            result = spec.fn(params, view.progress, device)
    except LimiterError as refusal:
        return Outcome("refused", message=str(refusal), **ended)
    except Exception as error:
        logger.exception("Task %s failed for %s", spec.key, owner)
        return Outcome("failed", message=failure_sentence(error), **ended)
    return Outcome("succeeded", result=result, wait_s=run.wait_s, run_s=run.run_s, **ended)

"""Taskgate on a page of your own: run a registered task, or hold a group's slot around your code.

Two ways in, both drawn like Taskgate's own pages (the place in the queue and an
estimate while waiting, a progress bar, Cancel):

- ``run_task(key, params)`` draws a Run button for a registered task and the
  owner's newest run of it, live. The run is durable, exactly as one started
  from the task's own page: a worker process runs it in the task's group, and
  leaving or reloading the page leaves it alone. Once the run has ended it
  returns a ``TaskOutcome`` (the run and, if it succeeded, its result).
- ``hold_slot(group)`` runs *your* code on the page's own script thread while
  it holds one slot of ``group``: as a context manager (``with hold_slot("A")
  as progress:``) or as a decorator (``@hold_slot("A")``). The group's limit,
  pause, queue cap, per-person cap and queue timeout apply as to any run, and
  the block is recorded in ``task_run`` (My runs lists it, with its label as
  the task).

Streamlit never interrupts a script thread: Cancel, a rerun, a page switch or
a closed tab only leave a stop request, raised as ``StopException`` or
``RerunException`` at the thread's next yield point. So the wait and every
``progress(fraction, message)`` call pass Streamlit's stop check
(core/ui/stop_check.py), which makes them the block's stop points; call
``progress`` often (well under a second apart). The slot is the innermost
thing held, and it is released and the outcome recorded in plain Python on
the way out, because after a stop every ``st.*`` call raises again; those
exceptions are never caught here.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn, ParamSpec, TypeVar

import streamlit as st

from core.app import App
from core.identity import NotAllowed
from core.limiter import LimiterError, RunCancelled
from core.run_watch import RunView
from core.runs.held import HeldRun
from core.tasks import registry
from core.tasks.assignment import group_of
from core.tasks.params import TaskParamError
from core.tasks.progress import Progress
from core.tasks.registry import TaskSpec
from core.ui.account import GUESTS_WATCH
from core.ui.bootstrap import get_app
from core.ui.owner import access_of, current_person
from core.ui.requester import requester
from core.ui.results import load_result, show_outcome
from core.ui.run_widget import queue_sentence, running_line
from core.ui.stop_check import stop_if_requested
from core.ui.task_page import latest_run, watch_then_rerun
from core.ui.wording import duration, plain
from db.models import RunStatus

Params = ParamSpec("Params")
Returned = TypeVar("Returned")

DRAW_EVERY_S = 0.1
"""Fastest redraw of a held slot's bar: a loop calling ``progress`` must not flood the browser."""
CANCEL_CHECK_EVERY_S = 1.0
"""How often ``progress`` reads whether the run was cancelled from My runs or by an admin."""


# A registered task -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskOutcome:
    """How the owner's newest run of a task ended: the run, and its result if it succeeded."""

    run: RunView
    result: Any
    """What the task returned (a ``TaskResult``), decoded from the database; None unless it
    succeeded."""

    @property
    def succeeded(self) -> bool:
        return self.run.status == RunStatus.SUCCEEDED


def run_task(
    task_key: str,
    params: Mapping[str, object] | None = None,
    *,
    label: str = "Run",
    show_result: bool = True,
) -> TaskOutcome | None:
    """A Run button for task ``task_key`` with ``params``, and this person's newest run of it.

    ``params`` are the task's inputs by name, as its form would give them
    (missing ones take their defaults); they are checked on Run, and a bad one
    is a sentence under the button. While the run is queued or running, the
    call draws it live (position and estimate, progress, Cancel) and reruns
    the page when it ends, so it returns only for a finished run: its
    ``TaskOutcome``, drawn with the generic result view unless ``show_result``
    is False. None when this person has no run of the task yet, or the task
    does not exist (a sentence says so).
    """
    app = get_app()
    spec = _registered(app, task_key)
    if spec is None:
        return None
    owner = requester(app)
    may_run = access_of(app.settings).may_run(current_person())
    view = latest_run(app, owner, spec.key)
    if not may_run:
        st.info(GUESTS_WATCH, icon=":material/login:")
    pressed = st.button(
        label,
        key=f"taskgate.own_page.run.{spec.key}",
        type="primary",
        disabled=not may_run or (view is not None and view.active),
    )
    st.caption(
        f"Runs *{plain(spec.title)}* in group **{plain(spec.group)}** on a Taskgate worker; "
        "it keeps going if you leave or reload this page."
    )
    if pressed:
        view = _submit(app, spec, params or {}, owner) or view
    if view is None:
        return None
    if view.active:
        watch_then_rerun(app, view, owner)
    result = load_result(app, view.id) if view.status == RunStatus.SUCCEEDED else None
    if show_result:
        show_outcome(spec, view, result)
    return TaskOutcome(view, result)


def _registered(app: App, task_key: str) -> TaskSpec | None:
    try:
        spec = registry.get(task_key)
    except KeyError:
        st.error(
            f"There is no task called {plain(repr(task_key))}; the tasks here are "
            f"{plain(', '.join(registry.tasks()))}.",
            icon=":material/error:",
        )
        return None
    # The admin's assignment, read on every run of the page: a move applies to the next request.
    return dataclasses.replace(spec, group=group_of(app.engine, task_key))


def _submit(app: App, spec: TaskSpec, params: Mapping[str, object], owner: str) -> RunView | None:
    """Check ``params`` and queue the run; its view, or None after the sentence why not."""
    try:
        access_of(app.settings).require_may_run(current_person())
        parsed = spec.parse(params)
        run_id = app.runs.submit(spec.key, spec.settings(parsed), owner, spec.inputs(parsed))
    except TaskParamError as problem:
        st.error(plain(str(problem)), icon=":material/error:")
        return None
    except (NotAllowed, LimiterError) as refusal:
        st.warning(plain(str(refusal)), icon=":material/block:")
        return None
    return app.watcher.view(run_id)


# Your own code, holding a slot ----------------------------------------------------------------


class SlotRefused(Exception):
    """The group would not take the request (a sentence already on the page says why)."""


class _LiveSlot:
    """A held slot on the page: a headline, a progress bar and Cancel, plus the stop checks."""

    def __init__(self, label: str) -> None:
        area = st.container()
        self._headline = area.empty()
        self._bar = area.empty()
        self._cancel = area.empty()
        self._cancel.button(
            "Cancel",
            key=f"taskgate.own_page.cancel.{label}",
            help="Gives up the wait, or stops the work at its next progress step.",
            # The click reruns the page, which stops this block; the toast says so after.
            on_click=_toast_cancelled,
            args=(label,),
        )
        self._sentence = ""
        self._shown: tuple = ()
        self._drawn_at = -DRAW_EVERY_S
        self._checked_at = time.monotonic()
        self._held: HeldRun | None = None
        self._waited_s = 0.0

    def waiting(self, view: RunView | None) -> None:
        """Called while the run waits: its place in the queue, redrawn when it changes."""
        if view is not None and view.position is not None:
            sentence = queue_sentence(
                view.group,
                view.position,
                view.queued,
                view.paused,
                view.eta_s,
                view.queue_timeout_s if view.timeout_first else None,
            )
            if sentence != self._sentence:
                self._headline.info(sentence, icon=":material/hourglass_top:")
                self._sentence = sentence
        stop_if_requested()

    def started(self, held: HeldRun, waited_s: float) -> None:
        self._held, self._waited_s = held, waited_s
        self._headline.caption(running_line(held.group, "", waited_s))
        self._bar.progress(0.0, text="Starting…")

    def progress(self, fraction: float, message: str = "") -> None:
        """The block's ``progress``: draw the bar, then stop here if a stop was asked for."""
        shown = (round(min(max(fraction, 0.0), 1.0), 2), message)
        now = time.monotonic()
        if shown != self._shown and now - self._drawn_at >= DRAW_EVERY_S:
            self._bar.progress(shown[0], text=plain(message) if message else None)
            self._shown, self._drawn_at = shown, now
        stop_if_requested()
        if self._held is not None and now - self._checked_at >= CANCEL_CHECK_EVERY_S:
            self._checked_at = now
            sentence = self._held.cancel_asked()  # My runs' Cancel, or an admin's
            if sentence is not None:
                raise RunCancelled(sentence)

    def finished(self, group: str, ran_s: float) -> None:
        self._headline.caption(
            f"Ran {duration(ran_s)} in group {plain(group)} · "
            f"waited {duration(self._waited_s)} for a slot"
        )
        self._bar.empty()
        self._cancel.empty()

    def refused(self, sentence: str) -> None:
        self._headline.warning(plain(sentence), icon=":material/block:")
        self._bar.empty()
        self._cancel.empty()

    def cancelled(self, sentence: str) -> None:
        self._headline.info(plain(sentence), icon=":material/stop_circle:")
        self._bar.empty()
        self._cancel.empty()


def _toast_cancelled(label: str) -> None:
    st.toast(f"Cancelled: {plain(label)}.", icon=":material/stop_circle:")


class HeldSlot(AbstractContextManager):
    """One slot of a group held around a block of page code; see ``hold_slot``."""

    def __init__(self, group: str, label: str, *, stop_page: bool = True) -> None:
        self._group = group
        self._label = label
        # On a refusal or a cancel from My runs: end the page's run, else raise to the caller.
        self._stop_page = stop_page

    def __enter__(self) -> Progress:
        app = get_app()
        self._live = _LiveSlot(self._label)
        self._held = held = app.held_run(self._group)
        asked_at = time.monotonic()
        self._holding = held.holding(requester(app), self._label, self._live.waiting)
        try:
            self._holding.__enter__()
        except LimiterError as refusal:
            self._refuse(refusal)
        except RunCancelled as cancel:
            self._cancelled(cancel)
        self._started_at = time.monotonic()
        try:
            self._live.started(held, self._started_at - asked_at)  # a yield point: may stop
        except BaseException:
            self.__exit__(*sys.exc_info())  # the slot is held: give it back on this path too
            raise
        return self._live.progress

    def _refuse(self, refusal: LimiterError) -> NoReturn:
        self._live.refused(str(refusal))
        if self._stop_page:
            st.stop()
        raise SlotRefused(str(refusal)) from refusal

    def _cancelled(self, cancel: RunCancelled) -> NoReturn:
        self._live.cancelled(str(cancel))
        if self._stop_page:
            st.stop()
        raise cancel

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Records the outcome and gives the slot back first, in plain Python.
        self._holding.__exit__(kind, exc, traceback)
        if exc is None:
            self._live.finished(self._held.group, time.monotonic() - self._started_at)
        elif isinstance(exc, RunCancelled):
            self._cancelled(exc)


class hold_slot:  # noqa: N801 - used like a function, as contextlib's helpers are
    """Hold one slot of ``group`` while your code runs on this page, with its live state.

    As a context manager, ``with hold_slot("A", label="Blur") as progress:``
    waits for the slot (its place in the queue shown), holds it for the
    block, and hands the block ``progress(fraction, message)``, which draws
    the bar and is where Cancel, a rerun or a closed tab stops the block. A
    refusal (unknown group, full queue, the per-person cap, a queue timeout)
    or a cancel from My runs is a sentence on the page, and this run of the
    page ends there (``st.stop()``), since the block could not finish.

    As a decorator, ``@hold_slot("A")``, each call of the function holds a
    slot; a function with a ``progress`` parameter is given the callable
    there. A refused or cancelled call returns None instead of stopping the
    page. ``label`` names the work in My runs (default: the function's name).
    """

    def __init__(self, group: str, *, label: str | None = None) -> None:
        self._group = group
        self._label = label
        self._held: HeldSlot | None = None

    def __enter__(self) -> Progress:
        self._held = HeldSlot(self._group, self._label or "Code on a page")
        return self._held.__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._held is not None
        held, self._held = self._held, None
        held.__exit__(kind, exc, traceback)

    def __call__(self, fn: Callable[Params, Returned]) -> Callable[Params, Returned | None]:
        label = self._label or fn.__name__
        wants_progress = "progress" in inspect.signature(fn).parameters

        @functools.wraps(fn)
        def holding(*args: Params.args, **kwargs: Params.kwargs) -> Returned | None:
            try:
                with HeldSlot(self._group, label, stop_page=False) as progress:
                    if wants_progress:
                        kwargs["progress"] = progress
                    return fn(*args, **kwargs)
            except (SlotRefused, RunCancelled):  # the sentence is on the page
                return None

        return holding

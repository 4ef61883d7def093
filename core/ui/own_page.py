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
from core.limiter import GroupConfig, LimiterError, RunCancelled, RunInfo, UnknownGroup, WaitInfo
from core.limiter.events import body_outcome, waiting_outcome
from core.run_watch import RunView
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

Params = ParamSpec("Params")
Returned = TypeVar("Returned")

DRAW_EVERY_S = 0.1
"""Fastest redraw of a held slot's bar: a loop calling ``progress`` must not flood the browser."""
CANCEL_CHECK_EVERY_S = 1.0
"""How often ``progress`` reads whether the run was cancelled from My runs or by an admin."""
STOPPED = "Stopped on the page (Cancel, a reload, another page or a closed tab)."


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
        return self.run.status == "succeeded"


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
    result = load_result(app, view.id) if view.status == "succeeded" else None
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

    def __init__(self, app: App, label: str) -> None:
        self._app = app
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
        self._run_id: str | None = None
        self._checked_at = time.monotonic()

    def waiting(self, info: WaitInfo) -> None:
        """The limiter's ``on_wait``: the place in the queue, redrawn when it changes."""
        sentence = queue_sentence(info.group, info.position, info.queued, info.paused, info.eta_s)
        if sentence != self._sentence:
            self._headline.info(sentence, icon=":material/hourglass_top:")
            self._sentence = sentence
        stop_if_requested()

    def started(self, run: RunInfo) -> None:
        self._run_id = run.id
        self._headline.caption(running_line(run.group, "", run.wait_s))
        self._bar.progress(0.0, text="Starting…")

    def progress(self, fraction: float, message: str = "") -> None:
        """The block's ``progress``: draw the bar, then stop here if a stop was asked for."""
        shown = (round(min(max(fraction, 0.0), 1.0), 2), message)
        now = time.monotonic()
        if shown != self._shown and now - self._drawn_at >= DRAW_EVERY_S:
            self._bar.progress(shown[0], text=plain(message) if message else None)
            self._shown, self._drawn_at = shown, now
        stop_if_requested()
        if now - self._checked_at >= CANCEL_CHECK_EVERY_S:
            self._checked_at = now
            self._raise_if_cancelled()

    def _raise_if_cancelled(self) -> None:
        """A cancel asked for in My runs or by an admin (the run's row) stops the block here."""
        view = None if self._run_id is None else self._app.watcher.view(self._run_id)
        if view is not None and view.cancel_requested:
            raise RunCancelled(view.admin_note or "Cancelled from My runs.")

    def finished(self, run: RunInfo) -> None:
        ran = duration(run.run_s or 0.0)
        self._headline.caption(
            f"Ran {ran} in group {plain(run.group)} · waited {duration(run.wait_s)} for a slot"
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


def _known_group(app: App, name: str) -> GroupConfig:
    """The group called ``name`` (ignoring case), as the admin set it up; else UnknownGroup.

    The limiter would create an unknown group with the default limit on first
    use; a page names groups by hand, so a misspelt or removed one is refused
    instead, as a submitted run is.
    """
    for config in app.limiter.groups():
        if config.key == name.casefold():
            return config
    raise UnknownGroup(name)


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
        self._app = app = get_app()
        owner = requester(app)
        self._live = _LiveSlot(app, self._label)
        self._request = RunInfo(group=self._group, owner=owner, task=self._label)
        self._granted: RunInfo | None = None
        try:
            config = _known_group(app, self._group)
            self._request.group = config.name
            self._slot = app.limiter.slot(
                config.name,
                owner=owner,
                task=self._label,
                on_wait=self._live.waiting,
                run_id=self._request.id,
            )
            granted = self._granted = self._slot.__enter__()
        except UnknownGroup as refusal:  # nothing was asked of the limiter: nothing to record
            self._refuse(refusal)
        except BaseException as exc:
            self._record_end(self._request, waiting_outcome(exc), exc)
            if isinstance(exc, LimiterError):
                self._refuse(exc)
            raise
        try:
            app.held_runs.hold(granted.id)
            app.recorder.run_started(granted, lease_s=app.held_runs.ttl_s)
            self._live.started(granted)  # drawing is a yield point: a stop may come here
        except BaseException:
            self.__exit__(*sys.exc_info())  # the slot is held: give it back on this path too
            raise
        return self._live.progress

    def _refuse(self, refusal: LimiterError) -> NoReturn:
        self._live.refused(str(refusal))
        if self._stop_page:
            st.stop()
        raise SlotRefused(str(refusal)) from refusal

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        run = self._granted
        assert run is not None
        try:
            self._slot.__exit__(kind, exc, traceback)  # gives the slot back first, in plain Python
        finally:
            self._app.held_runs.release(run.id)
            run.finished_at = time.time()
            if exc is None:
                self._app.recorder.run_finished(run, "succeeded", None)
            else:
                self._record_end(run, body_outcome(exc), exc)
        if exc is None:
            self._live.finished(run)
        elif isinstance(exc, RunCancelled):
            self._live.cancelled(str(exc))
            if self._stop_page:
                st.stop()

    def _record_end(self, run: RunInfo, status: str, exc: BaseException) -> None:
        """The outcome in ``task_run``: enqueued for the recorder's thread, never drawn."""
        run.finished_at = time.time()
        if isinstance(exc, (LimiterError, RunCancelled)):
            error = str(exc)
        elif isinstance(exc, Exception):
            error = f"{type(exc).__name__}: {exc}"
        else:  # Streamlit's stop or rerun
            error = STOPPED
        self._app.recorder.run_finished(run, status, error)


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

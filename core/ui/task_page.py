"""A whole task page: what the task does, its form, and its run from request to outcome.

A page's run lives in ``st.session_state`` under one key, as one of:

- ``RunRequest``: Run was clicked and the settings were valid; the next
  script run starts it (the form callback runs before the script does);
- ``ActiveRun``: a script run is waiting or running it right now;
- ``Outcome``: how the last request ended, shown until the next one.

A script run that finds an ``ActiveRun`` knows the run it belonged to was
stopped (Streamlit stops the old script run on every rerun, and the old run
cannot record that itself: after a stop, ``session_state`` raises too), so it
shows the run as cancelled instead of starting anything again. A Cancel click
records the reason first, in the button's callback.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import streamlit as st
import torch

from core.identity import NotAllowed
from core.tasks.assignment import group_of
from core.tasks.device import describe, pick_device
from core.tasks.params import TaskParamError
from core.tasks.registry import TaskSpec, get
from core.ui.account import GUESTS_WATCH
from core.ui.bootstrap import get_app
from core.ui.outcome import Outcome
from core.ui.owner import access_of, current_person
from core.ui.results import show_outcome
from core.ui.run_widget import run_in_group
from core.ui.task_form import apply_prefill, form_values, pin_values, show_task_form
from core.ui.wording import plain

CANCELLED_BY_USER = "You cancelled the run; its slot went to the next in line."
CANCELLED_BY_LEAVING = (
    "The run was cancelled because the page was left or reloaded before it finished."
)


@dataclass(frozen=True)
class RunRequest:
    """Valid settings waiting for the next script run to start them."""

    params: Any
    settings: dict[str, object]


@dataclass(frozen=True)
class ActiveRun:
    """A script run of this page is waiting for a slot or running the task."""


def _run_key(spec: TaskSpec) -> str:
    return f"taskgate.run.{spec.key}"


def _cancel_key(spec: TaskSpec) -> str:
    return f"taskgate.cancel.{spec.key}"


def _request_run(spec: TaskSpec, device: torch.device) -> None:
    """Run's callback: check the form's values; queue them for the next script run, or refuse.

    Invalid settings become an Outcome with the checker's sentence, so the
    page shows it and nothing runs.
    """
    try:
        access_of(get_app().settings).require_may_run(current_person())
    except NotAllowed as refused:
        st.session_state[_run_key(spec)] = Outcome("refused", message=str(refused))
        return
    values = form_values(spec)
    pin_values(spec, values)
    try:
        params = spec.parse(values, device)
    except TaskParamError as problem:
        st.session_state[_run_key(spec)] = Outcome("invalid", message=str(problem))
        return
    settings = spec.settings(params)
    st.session_state[_run_key(spec)] = RunRequest(params=params, settings=settings)


def _cancel(spec: TaskSpec) -> None:
    """Cancel's callback: name the reason. Stopping the run is the rerun's doing, not ours."""
    if isinstance(st.session_state.get(_run_key(spec)), ActiveRun):
        st.session_state[_run_key(spec)] = Outcome("cancelled", message=CANCELLED_BY_USER)


def _show_header(spec: TaskSpec, device: torch.device) -> None:
    st.title(spec.title)
    st.markdown(spec.description)
    st.caption(
        f"Runs in group **{plain(spec.group)}**, one of the groups that share the device, "
        f"on {plain(describe(device))}."
    )


def _show_prefill_notice(spec: TaskSpec) -> None:
    problems = apply_prefill(spec)
    if problems is None:
        return
    st.session_state.pop(_run_key(spec), None)
    st.info(
        "The form holds the settings of an earlier run: press Run to run it again.",
        icon=":material/replay:",
    )
    for problem in problems:
        st.warning(f"{plain(problem)} That setting is back at its default.")


def show_task_page(task_key: str) -> None:
    """The page of the task called ``task_key``: header, form, then its run or last outcome."""
    app = get_app()
    # The admin's assignment, read on every run of the page: a move applies to the next request.
    spec = dataclasses.replace(get(task_key), group=group_of(app.engine, task_key))
    person = current_person()
    owner = person.owner
    may_run = access_of(app.settings).may_run(person)
    device = pick_device()
    _show_header(spec, device)
    _show_prefill_notice(spec)
    if not may_run:
        st.info(GUESTS_WATCH, icon=":material/login:")
    key = _run_key(spec)
    state = st.session_state.get(key)
    if isinstance(state, ActiveRun):
        state = Outcome("cancelled", message=CANCELLED_BY_LEAVING)
        st.session_state[key] = state
    show_task_form(
        spec,
        disabled=isinstance(state, RunRequest) or not may_run,
        on_submit=lambda: _request_run(spec, device),
    )
    if isinstance(state, RunRequest):
        st.session_state[key] = ActiveRun()
        st.session_state[key] = run_in_group(
            app.limiter,
            spec,
            state.params,
            state.settings,
            owner=owner,
            device=device,
            cancel_key=_cancel_key(spec),
            on_cancel=lambda: _cancel(spec),
        )
        st.rerun()  # redraw with the form enabled again and the outcome below it
    elif isinstance(state, Outcome):
        show_outcome(spec, state)

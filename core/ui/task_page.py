"""A whole task page: what the task does, its form, and this owner's run of it, watched live.

The page holds no run. Run writes a durable run (``app.runs.submit``) and
the page then *shows* the owner's newest run of this task, read from the
database, whichever tab or session started it: queued (position, ETA),
running (progress), or its outcome and result once finished. Leaving,
reloading or opening a second tab changes nothing about the run.

``st.session_state`` holds only a refusal or settings problem to show once
(``_notice_key``); run ids and results live in the database.
"""

from __future__ import annotations

import dataclasses
from typing import NoReturn

import streamlit as st
import torch

from core.app import App
from core.identity import NotAllowed
from core.limiter import LimiterError, OwnerLimitReached
from core.run_history import latest_run_id
from core.run_watch import RunView
from core.tasks.assignment import group_of
from core.tasks.device import describe, pick_device
from core.tasks.params import TaskParamError
from core.tasks.registry import TaskSpec, get
from core.ui.account import GUESTS_WATCH
from core.ui.bootstrap import get_app
from core.ui.owner import access_of, current_person
from core.ui.requester import requester
from core.ui.results import show_run_outcome
from core.ui.run_toasts import toast_run_changes
from core.ui.run_widget import watch_until_finished
from core.ui.task_form import apply_prefill, form_values, pin_values, show_task_form
from core.ui.wording import plain

CAPPED_HINT = "Your runs are under My runs: cancel one there, or press Run again once one ends."


def _notice_key(spec: TaskSpec) -> str:
    return f"taskgate.notice.{spec.key}"


def _request_run(app: App, spec: TaskSpec, device: torch.device, owner: str) -> None:
    """Run's callback: check the form's values, then submit them, or keep the sentence why not."""
    notice = _notice_key(spec)
    try:
        access_of(app.settings).require_may_run(current_person())
    except NotAllowed as refused:
        st.session_state[notice] = ("refused", str(refused))
        return
    values = form_values(spec)
    pin_values(spec, values)
    try:
        params = spec.parse(values, device)
        app.runs.submit(spec.key, spec.settings(params), owner, spec.inputs(params))
    except TaskParamError as problem:
        st.session_state[notice] = ("invalid", str(problem))
        return
    except OwnerLimitReached as refusal:
        st.session_state[notice] = ("capped", str(refusal))
        return
    except LimiterError as refusal:
        st.session_state[notice] = ("refused", str(refusal))
        return
    st.session_state.pop(notice, None)


def _show_header(spec: TaskSpec, device: torch.device) -> None:
    st.title(spec.title)
    st.markdown(spec.description)
    st.caption(
        f"Runs in group **{plain(spec.group)}**, one of the groups that share the device, "
        f"on {plain(describe(device))}. A run keeps going if you leave or reload this page; "
        "find all of yours under My runs."
    )


def _show_prefill_notice(spec: TaskSpec) -> None:
    problems = apply_prefill(spec)
    if problems is None:
        return
    st.session_state.pop(_notice_key(spec), None)
    st.info(
        "The form holds the settings of an earlier run: press Run to run it again.",
        icon=":material/replay:",
    )
    for problem in problems:
        st.warning(f"{plain(problem)} That setting is back at its default.")


def _show_notice(spec: TaskSpec) -> None:
    notice = st.session_state.pop(_notice_key(spec), None)  # shown once, until the next rerun
    if notice is None:
        return
    kind, sentence = notice
    if kind in ("refused", "capped"):
        st.warning(plain(sentence), icon=":material/block:")
        if kind == "capped":  # the runs that count may be of other tasks, started elsewhere
            st.caption(CAPPED_HINT)
    else:
        st.error(plain(sentence), icon=":material/error:")


def show_task_page(task_key: str) -> None:
    """The page of the task called ``task_key``: header, form, then its run or last outcome."""
    app = get_app()
    # The admin's assignment, read on every run of the page: a move applies to the next request.
    spec = dataclasses.replace(get(task_key), group=group_of(app.engine, task_key))
    owner = requester(app)
    may_run = access_of(app.settings).may_run(current_person())
    device = pick_device()
    _show_header(spec, device)
    _show_prefill_notice(spec)
    if not may_run:
        st.info(GUESTS_WATCH, icon=":material/login:")
    show_task_form(
        spec, disabled=not may_run, on_submit=lambda: _request_run(app, spec, device, owner)
    )
    _show_notice(spec)
    view = latest_run(app, owner, spec.key)
    if view is None:
        return
    if view.active:
        watch_then_rerun(app, view, owner)
    show_run_outcome(app, spec, view)


def latest_run(app: App, owner: str, task_key: str) -> RunView | None:
    """``owner``'s newest run of the task, as the watcher sees it; toasts of their other runs."""
    run_id = latest_run_id(app.engine, owner, task_key)
    view = None if run_id is None else app.watcher.view(run_id)
    toast_run_changes(app, owner, quiet_for=run_id)
    return view


def watch_then_rerun(app: App, view: RunView, owner: str) -> NoReturn:
    """Draw an active run live (with Cancel) until it ends, then rerun the page to show how.

    The rerun redraws the page with its Run button ready again and the outcome
    below it; a stop or rerun of this script run meanwhile ends only the watching.
    """

    def cancel() -> None:
        app.runs.cancel(view.id, actor=owner, owner=owner)

    watch_until_finished(
        app,
        view,
        cancel,
        key=f"taskgate.cancel.{view.id}",
        tick=lambda: toast_run_changes(app, owner, quiet_for=view.id),
    )
    st.rerun()

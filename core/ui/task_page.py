"""A whole task page: what the task does, its group's limits, its form, and this owner's runs.

The page holds no run. Run writes a durable run (``app.runs.submit``) and
the page then *shows* the owner's runs of this task, read from the
database, whichever tab or session started them: every queued or running
one, newest first (position, ETA, progress, Cancel each), else the newest
one's outcome and result. Leaving, reloading or opening a second tab
changes nothing about a run, and a form this session has not filled yet
starts at the settings of the run the page shows.

While the owner has a run of the task queued or running, the form's button
is "Run another", which asks once ("Yes, run another") before it submits;
a double-click that slips past it is refused by the run service
(``DuplicateRun``), whose sentence the page shows.

``st.session_state`` holds only a refusal or settings problem to show once
(``_notice_key``) and the pending confirmation (``_confirm_key``); run ids
and results live in the database.
"""

from __future__ import annotations

import dataclasses
from typing import NoReturn

import streamlit as st
import torch

from core.app import App
from core.identity import NotAllowed
from core.limiter import GroupSnapshot, LimiterError, OwnerLimitReached
from core.run_history import active_run_ids, latest_run_id
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
from core.ui.run_toasts import show_run_toasts, toast_run_changes
from core.ui.run_widget import watch_runs
from core.ui.task_form import apply_prefill, form_values, pin_values, show_task_form
from core.ui.wording import duration, plain, settings_line
from db.models import group_name_key

CAPPED_HINT = "Your runs are under My runs: cancel one there, or press Run again once one ends."


RUN_ANOTHER = "Run another"
CONFIRM_ANOTHER = "Yes, run another"


def _notice_key(spec: TaskSpec) -> str:
    return f"taskgate.notice.{spec.key}"


def _confirm_key(spec: TaskSpec) -> str:
    return f"taskgate.confirm_another.{spec.key}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _request_run(app: App, spec: TaskSpec, device: torch.device, owner: str) -> None:
    """Run's callback: check the form's values, then submit them, or keep the sentence why not.

    While the owner has a run of the task queued or running (read now, not when
    the page was drawn: a double-click's second click sees the first's run),
    the first press only asks for confirmation; the next one submits.
    """
    notice = _notice_key(spec)
    try:
        access_of(app.settings).require_may_run(current_person())
    except NotAllowed as refused:
        st.session_state[notice] = ("refused", str(refused))
        return
    values = form_values(spec)
    pin_values(spec, values)
    active = active_run_ids(app.engine, owner, spec.key)
    confirmed = st.session_state.pop(_confirm_key(spec), False)
    if active and not confirmed:
        st.session_state[_confirm_key(spec)] = True
        st.session_state[notice] = (
            "confirm",
            f"You already have {_plural(len(active), 'run')} of this task queued or running "
            f"(below). Press {CONFIRM_ANOTHER} to start one more with these settings.",
        )
        return
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


def limit_sentences(group: GroupSnapshot) -> list[str]:
    """What the group's settings mean for a run before it is asked for: one sentence each.

    The queue now always; a cap, a timeout or a limit per person only where it is set.
    """
    name = plain(group.name)
    waiting = "nobody waits" if group.queued == 0 else f"{group.queued} waiting"
    now = f"Group {name} now: {group.running} of {group.limit} running, {waiting}."
    if group.paused:
        now += " It is paused: a run waits until an admin resumes it."
    sentences = [now]
    if group.max_run_s is not None:
        sentences.append(
            f"A run is stopped after {duration(group.max_run_s)} of running (the run-time cap)."
        )
    if group.queue_timeout_s is not None:
        sentences.append(
            f"A run that waits {duration(group.queue_timeout_s)} without a slot is withdrawn "
            "(the queue timeout)."
        )
    if group.per_owner_limit is not None:
        sentences.append(
            f"One person may have {_plural(group.per_owner_limit, 'run')} queued or running "
            "in this group at once."
        )
    return sentences


def _show_limits(app: App, spec: TaskSpec) -> None:
    key = group_name_key(spec.group)
    group = next(
        # Read now, not the 0.25 s cache: a run this script run's Run just queued must count.
        (found for name, found in app.occupancy.fresh().items() if group_name_key(name) == key),
        None,
    )
    if group is not None:
        st.caption("  \n".join(limit_sentences(group)))


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
    if kind == "confirm":
        st.warning(sentence, icon=":material/content_copy:")
    elif kind in ("refused", "capped"):
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
    _show_limits(app, spec)
    _show_prefill_notice(spec)
    if not may_run:
        st.info(GUESTS_WATCH, icon=":material/login:")
    active = active_runs(app, owner, spec.key)
    shown = active[0] if active else latest_run(app, owner, spec.key)
    if not active and shown is not None and shown.active:
        # The row has ended but the watcher has not seen it yet (it reads every 0.25 s):
        # watch it until it has, rather than draw an outcome from a view still "queued".
        active = [shown]
    if not active:
        st.session_state.pop(_confirm_key(spec), None)
    label = "Run"
    if active:
        label = CONFIRM_ANOTHER if st.session_state.get(_confirm_key(spec)) else RUN_ANOTHER
    show_task_form(
        spec,
        disabled=not may_run,
        on_submit=lambda: _request_run(app, spec, device, owner),
        label=label,
        start_from=shown.params if shown is not None else None,
    )
    _show_notice(spec)
    if active:
        watch_all_then_rerun(app, spec, active, owner)
    if shown is None:
        show_run_toasts(app, owner)
        return
    show_run_outcome(app, spec, shown)
    show_run_toasts(app, owner)


def active_runs(app: App, owner: str, task_key: str) -> list[RunView]:
    """``owner``'s queued and running runs of the task, newest first, as the watcher sees them."""
    ids = active_run_ids(app.engine, owner, task_key)
    views = app.watcher.views(ids)
    return [views[run_id] for run_id in ids if run_id in views and views[run_id].active]


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
    watch_all_then_rerun(app, None, [view], owner)


def watch_all_then_rerun(
    app: App, spec: TaskSpec | None, views: list[RunView], owner: str
) -> NoReturn:
    """Draw active runs live (each with Cancel) until one ends, then rerun the page.

    With ``spec`` and more than one run, each is headed by when it was asked
    for and its settings, so two runs of the task can be told apart.
    """

    def cancel(run_id: str) -> None:
        app.runs.cancel(run_id, actor=owner, owner=owner)

    def heading(view: RunView) -> str | None:
        if spec is None or len(views) < 2:
            return None
        when = view.enqueued_at.astimezone(_browser_zone())
        return plain(f"Asked for at {when:%H:%M:%S} · {settings_line(spec.fields, view.params)}")

    watch_runs(
        app,
        views,
        cancel,
        heading,
        tick=lambda: toast_run_changes(app, owner, quiet_for=views[0].id),
    )
    st.rerun()


def _browser_zone():
    """The browser's time zone if Streamlit knows it, else UTC."""
    from datetime import UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        name = st.context.timezone
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC

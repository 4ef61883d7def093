"""The live view's workers and runs, with the admin's levers on each run.

Workers: host, device, groups served, runs now, last heartbeat, and the
device's memory and utilisation where it reports them. Runs: every running
and waiting run, one row each, with its place in line, its task's title and
its owner as people read them, and its buttons at the row's end: Cancel run
on a running run, Move to head and Remove on a waiting one. A group shows
its first ``SHOWN_WAITING`` waiting runs and a switch for the rest: two
hundred rows of buttons redrawn every second cost a fifth of a core, and
an admin acts on the head of a queue, or clears it. Each group's heading
offers to clear its queue, after a confirmation naming how many runs go.
The buttons call core/runs/admin.py, which checks the actor and
audits; what it refuses is shown as its sentence.

The view redraws every second, so what an action did is kept for
``NOTICE_S`` and shown above the runs on each redraw, not only on the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.app import App
from core.auth import Actor, NotAuthorized
from core.runs.admin import QueueChanged, RunActionRefused, RunAdmin
from core.tasks import registry
from core.ui.admin.format import seconds
from core.ui.wording import plain
from core.worker.fleet_view import QueuedRow, WorkerRow, workers
from db.models import RunStatus, utcnow

_CONFIRM = "admin:clear-confirm"
_NOTICE = "admin:run-notice"
NOTICE_S = 20.0
SHOWN_WAITING = 10
"""Waiting runs a group lists before its "show the others" switch."""
"""How long what an action did stays on screen (the view redraws every second)."""
GIB = 1024**3


def task_title(key: str) -> str:
    spec = registry.tasks().get(key)
    return spec.title if spec is not None else key


def runs_word(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _device_figures(worker: WorkerRow) -> str:
    if worker.gpu_memory_total is None or worker.gpu_memory_used is None:
        return "not reported by this device" if worker.device.startswith("cuda") else (
            "none (the CPU reports no device memory)"
        )  # fmt: skip
    text = f"{worker.gpu_memory_used / GIB:.1f} / {worker.gpu_memory_total / GIB:.1f} GiB"
    if worker.gpu_utilization is not None:
        text += f", {worker.gpu_utilization:.0f} % busy"
    return text


def show_workers(app: App) -> None:
    now = utcnow()
    with app.db.read() as connection:
        rows = workers(connection, now)
    st.markdown("**Workers**")
    if not rows:
        st.info(
            "No worker is running. Start one on a GPU host with `python -m core.worker` "
            "(see the README, Scaling out)."
        )
        return
    table = []
    for worker in rows:
        ago = (now - worker.heartbeat_at).total_seconds()
        stale = ago > 3 * app.settings.lease_ttl_s
        table.append(
            {
                "Host": worker.host,
                "Device": worker.device,
                "Groups served": ", ".join(worker.groups) if worker.groups else "every group",
                "Runs now": f"{worker.running}"
                + (f" of {worker.capacity}" if worker.capacity else ""),
                "Last heartbeat": f"{seconds(ago)} ago" + (" — not answering" if stale else ""),
                "GPU memory / utilisation": _device_figures(worker),
            }
        )
    st.dataframe(table, hide_index=True, width="stretch")


# what an action did ---------------------------------------------------------------
def _tell(kind: str, text: str) -> None:
    st.session_state[_NOTICE] = (kind, text, time.monotonic())


def _show_notice() -> None:
    notice = st.session_state.get(_NOTICE)
    if notice is None:
        return
    kind, text, at = notice
    if time.monotonic() - at > NOTICE_S:
        del st.session_state[_NOTICE]
        return
    (st.error if kind == "error" else st.success)(text)


def _act(action: Callable[[], object], done: str) -> None:
    try:
        action()
    except (RunActionRefused, NotAuthorized) as refused:
        _tell("error", plain(str(refused)))
    else:
        _tell("success", done)
    st.rerun()


# one run --------------------------------------------------------------------------
def _what(run: QueuedRow) -> str:
    """E.g. "Train a small classifier of Ann", for the notices (Markdown-safe)."""
    return f"{plain(task_title(run.task))} of {plain(run.owner_name)}"


def _run_line(run: QueuedRow, now) -> str:
    for_s = seconds((now - run.since).total_seconds())
    about = f"{plain(task_title(run.task))} · {plain(run.owner_name)}"
    if run.cancelling:
        return f"**stopping** · {about} · an admin or its owner asked it to stop"
    if run.status == RunStatus.RUNNING:
        device = f", {plain(run.device)}" if run.device else ""
        return f"**running** · {about} · for {for_s} on {plain(run.host)}{device}"
    return f"**#{run.position} in line** · {about} · waiting {for_s}"


def _show_run(area: DeltaGenerator, admin: RunAdmin, actor: Actor, run: QueuedRow, now) -> None:
    row = area.container(
        horizontal=True, vertical_alignment="center", gap="small", key=f"admin-run-{run.id}"
    )
    row.markdown(_run_line(run, now), width="stretch")
    if run.cancelling:
        return
    if run.status == RunStatus.RUNNING:
        if row.button("Cancel run", key=f"admin:cancel:{run.id}"):
            _act(
                lambda: admin.cancel(actor, run.id),
                f"Cancelling {_what(run)}: it stops at its next step, and its owner is told.",
            )
        return
    if run.position != 1 and row.button("Move to head", key=f"admin:head:{run.id}"):
        _act(
            lambda: admin.move_to_head(actor, run.id),
            f"Moved {_what(run)} to the head of the queue of group {plain(run.group)}.",
        )
    if row.button("Remove", key=f"admin:remove:{run.id}"):
        _act(
            lambda: admin.remove(actor, run.id),
            f"Removed {_what(run)} from the queue; its owner is told.",
        )


# a group's queue ------------------------------------------------------------------
def _clear(admin: RunAdmin, actor: Actor, group: str, count: int) -> None:
    """Clear ``group``'s queue of the ``count`` runs the admin confirmed.

    If it holds a different number now, nothing is removed and the
    confirmation is asked again with the new number.
    """
    try:
        admin.clear_queue(actor, group, count)
    except QueueChanged as changed:
        now_waiting = len(admin.queued(group))
        if now_waiting:
            st.session_state[_CONFIRM] = (group, now_waiting)
        _tell("error", plain(str(changed)))
    except (RunActionRefused, NotAuthorized) as refused:
        _tell("error", plain(str(refused)))
    else:
        _tell(
            "success",
            f"Removed {runs_word(count)} from the queue of group {plain(group)}; "
            "their owners are told.",
        )
    st.rerun()


def _show_group_heading(area: DeltaGenerator, group: str, runs: list[QueuedRow]) -> None:
    running = sum(run.status == RunStatus.RUNNING for run in runs)
    waiting = sum(run.position is not None for run in runs)
    heading = area.container(horizontal=True, vertical_alignment="center")
    heading.markdown(
        f"**Group {plain(group)}** · {running} running · {waiting} waiting", width="stretch"
    )
    pending = st.session_state.get(_CONFIRM)
    if not waiting or (pending and pending[0] == group):
        return
    if heading.button("Clear the queue…", key=f"admin:clear:{group}"):
        st.session_state[_CONFIRM] = (group, waiting)
        st.rerun()


def _show_confirmation(
    area: DeltaGenerator, admin: RunAdmin, actor: Actor, group: str, waiting: int
) -> None:
    pending = st.session_state.get(_CONFIRM)
    if not pending or pending[0] != group:
        return
    if not waiting:  # nothing left to clear: the question no longer stands
        del st.session_state[_CONFIRM]
        return
    count = pending[1]
    box = area.container(border=True)
    box.warning(
        f"Remove all {runs_word(count)} waiting in group {plain(group)}? "
        "Each owner sees that an admin removed their run; running runs go on."
    )
    buttons = box.container(horizontal=True)
    if buttons.button(f"Yes, remove {runs_word(count)}", type="primary", key=f"admin:yes:{group}"):
        del st.session_state[_CONFIRM]
        _clear(admin, actor, group, count)
    if buttons.button("Keep them", key=f"admin:keep:{group}"):
        del st.session_state[_CONFIRM]
        st.rerun()


def show_runs(app: App, actor: Actor, runs: list[QueuedRow]) -> None:
    """``runs`` as ``fleet_view.active_runs`` reads them, grouped, with their buttons."""
    st.markdown("**Runs now** — running and waiting, in each group's order")
    _show_notice()
    if not runs:
        st.caption("No run is running or waiting.")
        return
    admin = app.run_admin
    now = utcnow()
    for group in sorted({run.group for run in runs}, key=str.casefold):
        mine = [run for run in runs if run.group == group]
        area = st.container(border=True)
        _show_group_heading(area, group, mine)
        waiting = sum(run.position is not None for run in mine)
        _show_confirmation(area, admin, actor, group, waiting)
        hidden = waiting - SHOWN_WAITING
        show_all = hidden > 0 and st.session_state.get(_show_all_key(group), False)
        for run in mine:
            if show_all or run.position is None or run.position <= SHOWN_WAITING:
                _show_run(area, admin, actor, run, now)
        if hidden > 0:
            area.toggle(f"Show the other {runs_word(hidden)} waiting", key=_show_all_key(group))


def _show_all_key(group: str) -> str:
    return f"admin:show-all:{group}"

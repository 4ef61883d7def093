"""The live view's workers and runs, with the admin's levers on each run.

Workers: host, device, groups served, runs now, last heartbeat, and the
device's memory and utilisation where it reports them. Runs: every running
and waiting run with its place in line, its task's title and its owner as
people read them, and buttons to cancel a running run, remove or move a
waiting one, and clear a group's queue (after a confirmation naming how
many). The buttons call core/worker/run_admin.py, which checks the actor
and audits; what it refuses is shown as its sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from core.app import App
from core.auth import Actor, NotAuthorized
from core.tasks import registry
from core.ui.admin.format import seconds
from core.ui.wording import plain
from core.worker.fleet_view import QueuedRow, WorkerRow, active_runs, workers
from core.worker.run_admin import RunActionRefused
from db.models import utcnow

_CONFIRM = "admin:clear-confirm"
_FLASH = "admin:run-flash"
GIB = 1024**3


def owner_label(owner: str) -> str:
    """An owner as people read it: a signed-in name as is, a browser session as a guest."""
    if owner.startswith("session-"):
        return f"guest {owner.removeprefix('session-')[:8]}"
    return owner or "nobody"


def task_title(key: str) -> str:
    spec = registry.tasks().get(key)
    return spec.title if spec is not None else key


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
    with app.runs_db.read() as connection:
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


def _act(action: Callable[[], object], done: str) -> None:
    try:
        action()
    except (RunActionRefused, NotAuthorized) as refused:
        st.session_state[_FLASH] = ("error", str(refused))
    else:
        st.session_state[_FLASH] = ("success", done)
    st.rerun()


def _unlinked(text: str) -> str:
    """``plain(text)``, with an e-mail address kept from becoming a mailto link.

    Markdown's autolinking ignores backslash escapes; a zero-width space after
    the ``@`` leaves no domain to link and shows the same characters.
    """
    return plain(text).replace("@", "@\u200b")


def _run_line(run: QueuedRow, now) -> str:
    where = f" on {plain(run.host)} ({plain(run.device)})" if run.status == "running" else ""
    state = (
        "cancelling" if run.cancelling
        else "running" if run.status == "running"
        else f"#{run.position} in line"
    )  # fmt: skip
    for_s = seconds((now - run.since).total_seconds())
    return (
        f"**{state}** · {plain(task_title(run.task))} · {_unlinked(owner_label(run.owner))} · "
        f"{'running' if run.status == 'running' else 'waiting'} for {for_s}{where}"
    )


def show_runs(app: App, actor: Actor) -> None:
    if flash := st.session_state.pop(_FLASH, None):
        (st.error if flash[0] == "error" else st.success)(flash[1])
    with app.runs_db.read() as connection:
        runs = active_runs(connection)
    st.markdown("**Runs now** — running and waiting, in each group's order")
    if not runs:
        st.caption("No run is running or waiting.")
        return
    admin = app.run_admin
    now = utcnow()
    for group in sorted({run.group for run in runs}, key=str.casefold):
        mine = [run for run in runs if run.group == group]
        waiting = [run for run in mine if run.position is not None]
        st.markdown(f"*{plain(group)}*")
        for run in mine:
            line, buttons = st.columns([8, 4])
            line.markdown(_run_line(run, now))
            if run.cancelling:
                continue
            if run.status == "running":
                if buttons.button("Cancel", key=f"admin:cancel:{run.id}"):
                    _act(partial(admin.cancel, actor, run.id), "The run is being cancelled.")
                continue
            left, right = buttons.columns(2)
            if run.position != 1 and left.button("To head", key=f"admin:head:{run.id}"):
                _act(partial(admin.move_to_head, actor, run.id), "Moved to the head.")
            if right.button("Remove", key=f"admin:remove:{run.id}"):
                _act(partial(admin.remove, actor, run.id), "Removed from the queue.")
        if not waiting:
            continue
        pending = st.session_state.get(_CONFIRM)
        if pending and pending[0] == group:
            st.warning(
                f"Remove all {pending[1]} waiting run(s) of {plain(group)}? Their owners are told."
            )
            yes, no = st.columns(2)
            if yes.button(f"Yes, remove {pending[1]}", key=f"admin:clear-yes:{group}"):
                del st.session_state[_CONFIRM]
                _act(
                    partial(admin.clear_queue, actor, group, pending[1]),
                    f"Removed {pending[1]} waiting run(s).",
                )
            if no.button("Keep them", key=f"admin:clear-no:{group}"):
                del st.session_state[_CONFIRM]
                st.rerun()
        elif st.button(f"Clear the queue ({len(waiting)} waiting)", key=f"admin:clear:{group}"):
            st.session_state[_CONFIRM] = (group, len(waiting))
            st.rerun()

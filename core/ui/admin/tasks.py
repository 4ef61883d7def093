"""The admin's Tasks section: which group each task's runs go through, and moving a task.

A move is checked and audited by ``core.tasks.assignment.move_task`` and
applies to the next request: task pages read the assignment on every run.
"""

from __future__ import annotations

import streamlit as st

from core.app import App
from core.auth import Actor, NotAuthorized
from core.tasks import registry
from core.tasks.assignment import AssignmentError, assignments, move_task
from core.ui.wording import plain

_FLASH = "admin:tasks-flash"


def _choice_key(task_key: str) -> str:
    return f"admin:task-group:{task_key}"


def show_task_assignments(app: App, actor: Actor, groups: list[str]) -> None:
    if message := st.session_state.pop(_FLASH, None):
        st.success(message, icon=":material/check_circle:")
    st.caption(
        "Each task's runs go through the group shown. A move applies to the next run "
        "requested; runs already waiting or running finish where they are."
    )
    stored = assignments(app.engine)
    for task in registry.tasks().values():
        current = stored.get(task.key, task.group)
        with st.container(border=True):
            about, choice, action = st.columns([4, 3, 1.3], vertical_alignment="bottom")
            about.markdown(f"**{plain(task.title)}**  \nin group **{plain(current)}**")
            chosen = choice.selectbox(
                "Group",
                groups,
                index=groups.index(current) if current in groups else None,
                key=_choice_key(task.key),
            )
            if (
                action.button(
                    "Move",
                    key=f"admin:task-move:{task.key}",
                    disabled=chosen is None or chosen == current,
                    width="stretch",
                )
                and chosen is not None
            ):
                _move(app, actor, task.key, task.title, chosen)


def _move(app: App, actor: Actor, task_key: str, title: str, group: str) -> None:
    try:
        moved_to = move_task(app.engine, actor, task_key, group)
    except (AssignmentError, NotAuthorized) as error:
        st.error(str(error))
        return
    st.session_state[_FLASH] = f"{title} now runs in group {moved_to}, from its next run on."
    st.rerun()

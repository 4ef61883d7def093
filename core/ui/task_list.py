"""Home's list of task pages, each with its group and how busy that group is right now."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from core.limiter import GroupSnapshot
from core.tasks.assignment import assignments
from core.ui.task_pages import task_pages
from core.ui.wording import plain


def occupancy_line(group: GroupSnapshot) -> str:
    """Compact, for a list: e.g. "1/2 running · 3 queued" (the group cards say it in full)."""
    line = f"{group.running}/{group.limit} running · {group.queued} queued"
    return f"{line} · paused" if group.paused else line


def show_task_list(engine: Engine, snapshot: dict[str, GroupSnapshot]) -> None:
    """One row per task page: a link, its group as the admin assigned it, the group's state."""
    groups = {name.casefold(): group for name, group in snapshot.items()}
    stored = assignments(engine)
    for page in task_pages():
        name = stored.get(page.task.key, page.task.group)
        link, state = st.columns([2, 3], vertical_alignment="center")
        link.page_link(page.page, label=page.task.title, icon=page.task.icon)
        group = groups.get(name.casefold())
        if group is None:
            line = "created with the default limit on its first run"
        else:
            line = occupancy_line(group)
        state.caption(f"Group **{plain(name)}** · {line}")

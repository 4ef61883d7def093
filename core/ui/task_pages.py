"""Each task's page, made from its declaration: no page script per task.

A task page is a function page (``st.Page(callable, url_path=task key)``), so
a task discovered by :mod:`core.tasks.registry` gets its page, its place in the
navigation and on Home without a file of its own. Titles and icons come from
the task, so a task is named the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from core.tasks import registry
from core.tasks.registry import TaskSpec
from core.ui.task_page import show_task_page

MY_RUNS_PATH = "pages/my_runs.py"


@dataclass(frozen=True)
class TaskPage:
    task: TaskSpec
    page: StreamlitPage
    """What ``st.page_link`` and ``st.switch_page`` take to reach it."""


def _page(task: TaskSpec) -> StreamlitPage:
    return st.Page(
        partial(show_task_page, task.key), title=task.title, icon=task.icon, url_path=task.key
    )


def task_pages() -> list[TaskPage]:
    """Every task's page, in the registry's order."""
    return [TaskPage(task, _page(task)) for task in registry.tasks().values()]


def page_for(task_key: str) -> TaskPage | None:
    """The page that runs ``task_key``, or None for a task this process does not know."""
    task = registry.tasks().get(task_key)
    return TaskPage(task, _page(task)) if task else None


def task_navigation() -> list[StreamlitPage]:
    """The navigation entries of the task pages, then My runs."""
    pages = [page.page for page in task_pages()]
    pages.append(st.Page(MY_RUNS_PATH, title="My runs", icon=":material/history:"))
    return pages

"""Where each task's page lives, and the "Tasks" section of the app's navigation.

Titles come from the task registry, so a task is named the same in the
navigation, on Home and on its own page.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.tasks.registry import TASKS, TaskSpec


@dataclass(frozen=True)
class TaskPage:
    task: TaskSpec
    path: str
    """Script path relative to the entrypoint, as ``st.Page`` and ``st.switch_page`` take it."""
    icon: str


TASK_PAGES: tuple[TaskPage, ...] = (
    TaskPage(TASKS["matmul"], "pages/matmul.py", ":material/grid_on:"),
    TaskPage(TASKS["fractal"], "pages/fractal.py", ":material/blur_on:"),
    TaskPage(TASKS["classifier"], "pages/classifier.py", ":material/scatter_plot:"),
)

MY_RUNS_PATH = "pages/my_runs.py"


def page_for(task_key: str) -> TaskPage | None:
    """The page that runs ``task_key``, or None for a task no page offers."""
    return next((page for page in TASK_PAGES if page.task.key == task_key), None)


def task_navigation() -> list[st.Page]:
    """The navigation entries of the task pages, then My runs."""
    pages = [st.Page(page.path, title=page.task.title, icon=page.icon) for page in TASK_PAGES]
    pages.append(st.Page(MY_RUNS_PATH, title="My runs", icon=":material/history:"))
    return pages

"""Driving the task pages under AppTest: open a page, fill its form, read what was recorded."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.app import App
from core.ui import bootstrap, task_pages
from db.models import TaskRun
from tests.support.apptest import home

TASK_PAGES = {page.task.key: page.path for page in task_pages.TASK_PAGES}
"""Each task's page script, by task key."""

SMALL_SETTINGS = {
    "matmul": {"n": 128, "repeats": 3},
    "fractal": {"width": 96, "height": 64, "max_iter": 32},
    "classifier": {"samples": 200, "hidden": 8, "layers": 1, "epochs": 20},
}
"""Settings that finish in well under a second on a small CPU."""


def open_page(path: str, timeout_s: float = 30) -> AppTest:
    """An AppTest that has run Home, then switched to ``path`` and run it."""
    at = home(timeout_s).run()
    assert not at.exception, at.exception
    return at.switch_page(path).run()


def fill_form(at: AppTest, task: str, settings: Mapping[str, object]) -> None:
    """Set form inputs by field name (their keys are ``taskgate.form.<task>.<field>``)."""
    for name, value in settings.items():
        key = f"taskgate.form.{task}.{name}"
        widget = at.selectbox(key=key) if isinstance(value, str) else at.number_input(key=key)
        widget.set_value(value)


def press_run(at: AppTest) -> AppTest:
    """Click the form's Run button and run the page until it is idle again."""
    (run,) = [button for button in at.button if button.label == "Run"]
    return run.click().run()


def started_app() -> App:
    """The App the AppTest runs started in this process."""
    return bootstrap.started_app()


def recorded_runs(app: App) -> list[TaskRun]:
    """Every task_run row, oldest first (the run service writes them as it accepts runs)."""
    with Session(app.engine) as session:
        return list(session.exec(select(TaskRun).order_by(TaskRun.enqueued_at)).all())

"""Driving the task pages under AppTest: open a page, fill its form, read what was recorded."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.app import App
from core.tasks import registry
from core.ui import bootstrap
from db.models import TaskRun
from tests.support.apptest import home, switch_to

TASK_PAGES = {key: key for key in registry.tasks()}
"""Each task's page, by task key: its URL path, which is the key itself."""

SMALL_SETTINGS = {key: dict(task.quick_settings) for key, task in registry.tasks().items()}
"""Settings that finish in well under a second on a small CPU, as each task declares."""


def open_page(page: str, timeout_s: float = 30) -> AppTest:
    """An AppTest that has run Home, then switched to ``page`` (see ``switch_to``) and run it."""
    at = home(timeout_s).run()
    assert not at.exception, at.exception
    return switch_to(at, page).run()


def fill_form(at: AppTest, task: str, settings: Mapping[str, object]) -> None:
    """Set form inputs by field name (their keys are ``taskgate.form.<task>.<field>``)."""
    kinds = {field.name: field.kind for field in registry.get(task).fields}
    for name, value in settings.items():
        key = f"taskgate.form.{task}.{name}"
        widgets = {"choice": at.selectbox, "text": at.text_input, "bool": at.toggle}
        widgets.get(kinds[name], at.number_input)(key=key).set_value(value)


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

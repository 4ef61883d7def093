"""A task from outside Taskgate, added by naming its package in TASKGATE_TASK_MODULES only.

``tests/fixtures/tasks_extra/echo.py`` is one file; no other file mentions it.
With the variable set it is on Home, on the Admin page's task list and in the
navigation, in its default group (created at start), and it runs end to end.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.tasks import registry
from core.ui.wording import plain
from tests.admin.apptest_admin import admin_page, show_section, sign_in
from tests.pages.helpers import fill_form, open_page, press_run, recorded_runs, started_app
from tests.support.apptest import ROOT, page_text
from tests.support.browser import wait_for_app_idle
from tests.support.database import sqlite_url
from tests.support.server import streamlit_server

EXTRA = {registry.TASK_MODULES_VARIABLE: "tests.fixtures.tasks_extra"}


@pytest.fixture
def with_echo(monkeypatch, apptest_app):
    for name, value in EXTRA.items():
        monkeypatch.setenv(name, value)
    assert "echo" in registry.tasks()


def test_an_added_task_is_on_home_and_the_admin_list_and_runs(with_echo):
    at = open_page("pages/home.py")
    links = {element.proto.label for element in at.get("page_link")}
    assert "Echo a word" in links
    assert "Group **Echoes** · 0/1 running · 0 queued" in page_text(at)

    at = show_section(sign_in(admin_page()), "Tasks")
    assert at.selectbox(key="admin:task-group:echo").value == "Echoes"

    at = open_page("echo")
    assert "Runs in group **Echoes**" in page_text(at)
    fill_form(at, "echo", {"word": "ping", "times": 2, "shout": True})
    at = press_run(at)
    assert not at.exception, at.exception
    # Its own view (TaskSpec.view) draws the result instead of the generic one.
    assert not at.metric and [success.value for success in at.success] == ["PING PING"]
    (run,) = recorded_runs(started_app())
    assert (run.task, run.group_name, run.status) == ("echo", "Echoes", "succeeded")
    assert run.params == {"word": "ping", "times": 2, "shout": True}


def test_an_added_task_refuses_bad_text_next_to_its_field(with_echo):
    at = open_page("echo")
    fill_form(at, "echo", {"word": "   "})
    at = press_run(at)
    assert [error.value for error in at.error] == [plain("Word must not be empty.")]
    assert recorded_runs(started_app()) == []


@pytest.mark.browser
def test_an_added_task_is_in_the_served_navigation(tmp_path, browser):
    env = {
        **EXTRA,
        "TASKGATE_DATABASE_URL": sqlite_url(tmp_path),
        "TASKGATE_ADMIN_PASSWORD": "letmein-please",
    }
    with streamlit_server(tmp_path, env) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url)
        wait_for_app_idle(page)
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_text("Echo a word", exact=True).click()
        page.get_by_role("heading", name="Echo a word").wait_for(timeout=30_000)
        assert page.url.endswith("/echo")
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("hello hello hello").wait_for(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, width // 2 :] = 255  # a hard edge the blur must soften
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_readme_example_uploads_a_photo_and_shows_it_softened(with_echo):
    at = open_page("soften")
    at = press_run(at)
    assert [error.value for error in at.error] == [
        plain("Photo is needed: choose an image file to upload.")
    ]
    at.file_uploader(key="taskgate.form.soften.photo").set_value(
        ("edge.png", _png(64, 48), "image/png")
    )
    fill_form(at, "soften", {"passes": 3, "grey": True})
    at = press_run(at)
    assert not at.exception and not at.error, page_text(at)
    assert [(metric.label, metric.value) for metric in at.metric] == [("Size", "64 × 48")]
    (download,) = [button for button in at.get("download_button")]
    assert download.proto.label == "Download PNG"
    (run,) = recorded_runs(started_app())
    assert run.params == {"photo": "image 64 × 48", "passes": 3, "grey": True}


def test_the_readme_shows_the_example_task_as_it_is():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "tests/fixtures/tasks_extra/soften.py").read_text()
    assert f"```python\n{example}```" in readme

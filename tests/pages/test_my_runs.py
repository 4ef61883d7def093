"""My runs: this owner's runs only, newest first, and Run again with the same settings."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from core.ui.wording import plain
from db.models import TaskRun, utcnow
from tests.pages.helpers import (
    SMALL_SETTINGS,
    TASK_PAGES,
    fill_form,
    open_page,
    press_run,
    recorded_runs,
    started_app,
)
from tests.support.apptest import as_read, page_text, switch_to

MY_RUNS = "pages/my_runs.py"


def _add_run(app, owner: str, task: str, params: dict, minutes_ago: float) -> None:
    enqueued = utcnow() - timedelta(minutes=minutes_ago)
    with Session(app.engine) as session:
        session.add(
            TaskRun(
                id=f"{owner}-{task}-{minutes_ago}".replace(".", "")[:32],
                group_name="A",
                task=task,
                owner=owner,
                params=params,
                status="succeeded",
                enqueued_at=enqueued,
                started_at=enqueued + timedelta(seconds=2),
                finished_at=enqueued + timedelta(seconds=5),
            )
        )
        session.commit()


def test_no_runs_yet_says_so_and_links_the_task_pages(apptest_app):
    at = open_page(MY_RUNS)
    assert not at.exception, at.exception
    assert [info.value for info in at.info] == ["No runs yet. Start one from a task page:"]
    assert len(at.get("page_link")) == len(TASK_PAGES)


def test_lists_this_sessions_runs_newest_first_with_status_group_times_and_settings(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    switch_to(at, TASK_PAGES["fractal"]).run()
    fill_form(at, "fractal", SMALL_SETTINGS["fractal"])
    at = press_run(at)
    _add_run(started_app(), "someone-else", "matmul", {"n": 64}, minutes_ago=1)
    at.switch_page(MY_RUNS).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["Task"]) == ["Fractal renderer", "Matrix-multiply benchmark"]
    assert list(table["Group"]) == ["B", "A"]
    assert list(table["Status"]) == ["✅ succeeded", "✅ succeeded"]
    assert (table["Waited (s)"] >= 0).all() and (table["Ran (s)"] > 0).all()
    assert table["Settings"][1] == "Matrix size 128 · Data type float32 · Repeats 3"
    assert "Runs requested as Guest " in page_text(at)


def test_run_again_opens_the_task_with_its_settings_filled_in(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", {"n": 192, "dtype": "bfloat16", "repeats": 4})
    at = press_run(at)
    at.switch_page(MY_RUNS).run()
    (only,) = at.selectbox(key="taskgate.my_runs.again").options
    assert "Matrix-multiply benchmark · ✅ succeeded" in only
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Matrix-multiply benchmark"
    assert at.number_input(key="taskgate.form.matmul.n").value == 192
    assert at.selectbox(key="taskgate.form.matmul.dtype").value == "bfloat16"
    assert at.number_input(key="taskgate.form.matmul.repeats").value == 4
    assert "press Run to run it again" in page_text(at)
    assert len(recorded_runs(started_app())) == 1, "Run again fills the form; it starts nothing"


def test_run_again_with_settings_that_no_longer_fit_resets_them_with_a_sentence(apptest_app):
    at = open_page(MY_RUNS)
    owner = at.session_state["taskgate.guest"]
    nasty = {
        "n": "<b>lots</b>",
        "dtype": "float64 🙂",
        "repeats": -5,
        "surprise": "[x](javascript:1)",
    }
    _add_run(started_app(), owner, "matmul", nasty, minutes_ago=0)
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="taskgate.form.matmul.n").value == 1536
    assert at.selectbox(key="taskgate.form.matmul.dtype").value == "float32"
    assert at.number_input(key="taskgate.form.matmul.repeats").value == 10
    assert [warning.value for warning in at.warning] == [
        plain(sentence) + " That setting is back at its default."
        for sentence in (
            "Matrix size must be a whole number between 64 and 8192.",
            "Data type must be one of float32, float16 or bfloat16.",
            "Repeats must be a whole number between 1 and 100.",
        )
    ]


def test_a_finished_run_is_reopened_from_the_database_in_a_new_session(apptest_app):
    at = open_page(TASK_PAGES["fractal"])
    fill_form(at, "fractal", SMALL_SETTINGS["fractal"])
    at = press_run(at)
    owner = at.session_state["taskgate.guest"]
    later = open_page(MY_RUNS)  # a new session: its own session state, nothing carried over
    later.session_state["taskgate.guest"] = owner
    later.run()
    assert not [key for key in later.session_state if "result" in key.lower()]
    picker = later.selectbox(key="taskgate.my_runs.open")
    (only,) = picker.options
    assert "Fractal renderer · ✅ succeeded" in only
    later = picker.select_index(0).run()
    assert not later.exception, later.exception
    (image_list,) = later.get("image")
    assert "Mandelbrot set, 256 × 64 pixels" in as_read(image_list.proto.imgs[0].caption)

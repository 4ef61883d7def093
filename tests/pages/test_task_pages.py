"""The user pages under AppTest: each renders, each task runs end to end, bad input runs nothing."""

from __future__ import annotations

import pytest

from core.tasks import registry
from core.ui.wording import plain
from tests.admin.apptest_admin import sentence_below
from tests.pages.helpers import (
    SMALL_SETTINGS,
    TASK_PAGES,
    fill_form,
    open_page,
    press_run,
    recorded_runs,
    started_app,
)
from tests.support.apptest import as_read, page_text

USER_PAGES = ["pages/home.py", *TASK_PAGES.values(), "pages/my_runs.py"]


@pytest.mark.parametrize("path", USER_PAGES)
def test_every_user_page_renders_without_exception(apptest_app, path):
    at = open_page(path)
    assert not at.exception, at.exception
    assert at.title, f"{path} has no title"


def test_home_lists_every_task_page_with_its_group_and_live_state(apptest_app):
    at = open_page("pages/home.py")
    text = page_text(at)
    assert "Group **A** · 0/1 running · 0 queued" in text
    assert "Group **B** · 0/1 running · 0 queued" in text
    links = {element.proto.label: element.proto.page for element in at.get("page_link")}
    assert set(links) == {task.title for task in registry.tasks().values()}


@pytest.mark.parametrize("task", TASK_PAGES)
def test_task_page_names_its_group_and_device(apptest_app, task):
    at = open_page(TASK_PAGES[task])
    group = registry.get(task).group  # seeded from its default at start
    assert f"Runs in group **{group}**" in page_text(at)
    assert "CPU" in page_text(at)


def test_matmul_runs_on_cpu_and_shows_flops_chart_and_times(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.exception, at.exception
    assert [metric.label for metric in at.metric] == ["Best", "Mean", "Fastest product"]
    assert all("FLOP/s" in metric.value for metric in at.metric[:2])
    assert len(at.get("plotly_chart")) == 1
    text = page_text(at)
    assert "Waited " in text and " for a slot in group A · ran " in text
    assert "Matrix size 128 · Data type float32 · Repeats 3" in text


def test_fractal_runs_on_cpu_and_shows_the_image(apptest_app):
    at = open_page(TASK_PAGES["fractal"])
    fill_form(at, "fractal", SMALL_SETTINGS["fractal"])
    at = press_run(at)
    assert not at.exception, at.exception
    (image_list,) = at.get("image")
    assert "Mandelbrot set, 256 × 64 pixels, 1024 iterations" in as_read(
        image_list.proto.imgs[0].caption
    )
    assert "for a slot in group B" in page_text(at)


def test_classifier_runs_on_cpu_and_shows_loss_curve_and_boundary(apptest_app):
    at = open_page(TASK_PAGES["classifier"])
    fill_form(at, "classifier", {**SMALL_SETTINGS["classifier"], "dataset": "moons"})
    at = press_run(at)
    assert not at.exception, at.exception
    labels = [metric.label for metric in at.metric]
    assert labels == ["Training accuracy", "Held-out accuracy", "Final loss"]
    assert len(at.get("plotly_chart")) == 2
    assert "for a slot in group A" in page_text(at)


@pytest.mark.parametrize("task", TASK_PAGES)
def test_a_run_is_recorded_as_succeeded_for_this_session_with_its_settings(apptest_app, task):
    at = open_page(TASK_PAGES[task])
    fill_form(at, task, SMALL_SETTINGS[task])
    at = press_run(at)
    assert not at.exception, at.exception
    (run,) = recorded_runs(started_app())
    assert run.status == "succeeded" and run.task == task
    assert run.owner == at.session_state["taskgate.guest"]
    assert run.owner.startswith("guest:")
    assert {name: run.params[name] for name in SMALL_SETTINGS[task]} == SMALL_SETTINGS[task]


def test_the_form_keeps_the_values_that_ran(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", {"n": 192, "repeats": 2})
    at = press_run(at)
    assert at.number_input(key="taskgate.form.matmul.n").value == 192
    assert at.number_input(key="taskgate.form.matmul.repeats").value == 2
    assert not at.number_input(key="taskgate.form.matmul.n").disabled


def test_the_cpu_bounds_show_on_the_form_before_run(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    assert at.selectbox(key="taskgate.form.matmul.dtype").options == ["float32", "bfloat16"]
    assert "Float16 needs a GPU" in at.selectbox(key="taskgate.form.matmul.dtype").help
    assert "Between 64 and 2048" in at.number_input(key="taskgate.form.matmul.n").help


def test_an_out_of_range_number_gets_its_sentence_next_to_the_field(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", {"n": 4096, "repeats": 0})
    at = press_run(at)
    assert not at.exception, at.exception
    sentences = {
        "taskgate.form.matmul.n": "Matrix size must be a whole number between 64 and 2048.",
        "taskgate.form.matmul.repeats": "Repeats must be a whole number between 1 and 100.",
    }
    for key, sentence in sentences.items():
        assert sentence_below(at, key) == sentence
    assert not at.metric and recorded_runs(started_app()) == []
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.error and [metric.label for metric in at.metric][0] == "Best"


@pytest.mark.parametrize(
    ("task", "settings", "sentence"),
    [
        (
            "classifier",
            {"samples": 20000, "hidden": 512, "layers": 6},
            "On the CPU, 6 hidden layers of width 512 can train on at most 2538 samples, "
            "so that a run stops promptly when cancelled; use fewer samples or a smaller network.",
        ),
    ],
)
def test_bad_settings_get_one_sentence_and_nothing_runs(apptest_app, task, settings, sentence):
    at = open_page(TASK_PAGES[task])
    fill_form(at, task, settings)
    at = press_run(at)
    assert not at.exception, at.exception
    assert [error.value for error in at.error] == [plain(sentence)]
    assert not at.metric and not at.get("plotly_chart")
    assert recorded_runs(started_app()) == []

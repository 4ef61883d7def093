"""The sentences the task pages are made of: waits, estimates, durations, failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.limiter import GroupSnapshot
from core.run_watch import RunView
from core.runs.sentences import failure_sentence
from core.ui.run_widget import waiting_sentence
from core.ui.stop_check import stop_if_requested
from core.ui.task_list import occupancy_line
from core.ui.wording import duration, estimate, plain


def _wait(**changes) -> RunView:
    values = dict(
        id="r1", task="matmul", group="A", owner="me", status="queued", params={},
        enqueued_at=datetime.now(UTC), started_at=None, finished_at=None,
        progress_fraction=None, progress_message=None, device="", error=None,
        cancel_requested=False, position=2, queued=3, paused=False, eta_s=19.2,
    )  # fmt: skip
    return RunView(**{**values, **changes})


def test_waiting_says_group_position_and_estimate():
    assert (
        waiting_sentence(_wait()) == "Waiting for a slot in group A — position 2 of 3, about 20 s."
    )


def test_waiting_without_history_says_there_is_no_estimate():
    assert waiting_sentence(_wait(position=1, queued=1, eta_s=None)) == (
        "Waiting for a slot in group A — position 1 of 1, no estimate yet."
    )


def test_waiting_in_a_paused_group_says_so_and_keeps_the_place():
    assert waiting_sentence(_wait(paused=True)) == (
        "Group A is paused, so no run starts for now; you keep your place (position 2 of 3)."
    )


def test_group_names_cannot_inject_markdown():
    assert waiting_sentence(_wait(group="*x*")).startswith("Waiting for a slot in group \\*x\\* —")


@pytest.mark.parametrize(
    ("eta_s", "text"),
    [(0.4, "any moment now"), (1.0, "about 1 s"), (59.1, "about 60 s"), (61, "about 2 min")],
)
def test_estimates_round_up(eta_s, text):
    assert estimate(eta_s) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.004, "0.00 s"),
        (0.42, "0.42 s"),
        (12.34, "12.3 s"),
        (245, "4 min 05 s"),
        (7300, "2 h 01 min"),
    ],
)
def test_durations_read_naturally(seconds, text):
    assert duration(seconds) == text


def test_plain_shows_markdown_and_latex_literally():
    assert plain("a *b* [c](d) $x$ <i>") == r"a \*b\* \[c\]\(d\) \$x\$ \<i\>"


def test_failure_keeps_the_first_line_and_the_exception_name():
    error = RuntimeError("CUDA out of memory. Tried to allocate 2 GiB\n  File ...")
    assert failure_sentence(error) == (
        "The task failed with RuntimeError: CUDA out of memory. Tried to allocate 2 GiB."
    )
    assert failure_sentence(ValueError()) == "The task failed with ValueError."
    assert len(failure_sentence(ValueError("x" * 5000))) < 400


def test_occupancy_line_is_running_over_limit_and_queued():
    group = GroupSnapshot(
        name="A", limit=2, paused=True, max_queue=None, queue_timeout_s=None,
        per_owner_limit=None, description="", version=1, running=1, queued=3,
        oldest_wait_s=None,
    )  # fmt: skip
    assert occupancy_line(group) == "1/2 running · 3 queued · paused"


def test_stop_check_outside_a_script_run_does_nothing():
    stop_if_requested()

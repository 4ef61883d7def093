"""How a run ended, on the page: the task's result with wait and run times, or one sentence."""

from __future__ import annotations

import streamlit as st

from core.tasks.registry import TaskSpec
from core.ui.outcome import Outcome
from core.ui.result_view import show_task_result
from core.ui.wording import duration, plain, settings_line


def timings_line(outcome: Outcome) -> str:
    """E.g. "Waited 2.1 s for a slot in group A · ran 1.4 s on CPU (2 threads)"."""
    assert outcome.wait_s is not None and outcome.run_s is not None
    return (
        f"Waited {duration(outcome.wait_s)} for a slot in group {plain(outcome.group)} · "
        f"ran {duration(outcome.run_s)} on {plain(outcome.device)}"
    )


def show_outcome(spec: TaskSpec, outcome: Outcome) -> None:
    """The result of a succeeded run, or the sentence that says why there is none."""
    if outcome.status == "succeeded":
        st.subheader("Result")
        st.caption(timings_line(outcome))
        st.caption(plain(settings_line(spec.fields, outcome.settings)))
        show_task_result(spec, outcome.result)
    elif outcome.status == "cancelled":
        st.info(plain(outcome.message), icon=":material/stop_circle:")
    elif outcome.status == "refused":
        st.warning(plain(outcome.message), icon=":material/block:")
    else:
        st.error(plain(outcome.message), icon=":material/error:")

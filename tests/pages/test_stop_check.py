"""The stop sentry: a script thread blocked on an event is woken when Streamlit asks it to stop.

These use Streamlit's own ``ScriptRequests`` and a real script run
(AppTest), so a Streamlit release that changes the internals the sentry
reads fails here instead of leaving closed tabs' threads waiting.
"""

from __future__ import annotations

import pytest
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests
from streamlit.testing.v1 import AppTest

from core.ui.stop_check import FALLBACK_WAIT_S, stop_wakeup

WAIT_S = 30.0
"""Generous: the sentry looks a few times a second; this only guards against a hang."""


@pytest.mark.parametrize("request_kind", ["stop", "rerun"])
def test_a_pending_stop_or_rerun_wakes_the_waiter(request_kind):
    requests = ScriptRequests()
    with stop_wakeup(requests) as wakeup:
        assert wakeup.longest_wait_s is None, "the sentry watches these requests"
        assert not wakeup.event.is_set()
        if request_kind == "stop":
            requests.request_stop()
        else:
            assert requests.request_rerun(RerunData())
        assert wakeup.event.wait(WAIT_S), f"a pending {request_kind} never woke the waiter"


def test_a_waiter_outside_a_script_run_falls_back_to_short_waits():
    with stop_wakeup() as wakeup:
        assert wakeup.longest_wait_s == FALLBACK_WAIT_S
        assert wakeup.bound(30.0) == FALLBACK_WAIT_S
        assert wakeup.bound(0.5) == 0.5


def _page() -> None:
    import streamlit as st

    from core.ui.stop_check import stop_wakeup

    with stop_wakeup() as wakeup:
        st.write("watched" if wakeup.longest_wait_s is None else "fallback")


def test_a_real_script_run_is_watched_by_the_sentry():
    at = AppTest.from_function(_page, default_timeout=30).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["watched"]

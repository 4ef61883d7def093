"""Let Streamlit stop the script thread here: the one call that makes long waits abandonable.

Streamlit never interrupts a script thread; a rerun, a closed tab or a page
switch only leaves a request that is raised as ``StopException`` or
``RerunException`` at the thread's next yield point. Code that waits or
computes for long must therefore pass through a yield point often, even when
it has nothing new to show.

Streamlit's own cache lock polls with
``script_run_context.get_run_yield_check()``, which raises the pending
request without sending anything to the browser. That function is internal,
so it is used only if present; the public fallback is a ``session_state``
lookup, which is a yield point too.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

_YieldCheck = Callable[[], Callable[[], None] | None]
get_run_yield_check: _YieldCheck | None
try:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check
except ImportError:  # a Streamlit release that moved or dropped the internal hook
    get_run_yield_check = None

_PROBE_KEY = "taskgate.stop_probe"


def _probe_session_state() -> None:
    _ = _PROBE_KEY in st.session_state


def stop_if_requested() -> None:
    """Raise the pending stop or rerun of this script run, if there is one; else return.

    Outside a script run (a plain thread, a tool) there is nothing to stop.
    """
    check: Callable[[], None] | None
    if get_run_yield_check is None:
        check = _probe_session_state
    else:
        check = get_run_yield_check()
    if check is not None:
        check()

"""Let Streamlit stop the script thread: the yield point, and a wake-up for long waits.

Streamlit never interrupts a script thread; a rerun, a closed tab or a page
switch only leaves a request that is raised as ``StopException`` or
``RerunException`` at the thread's next yield point. Code that waits or
computes for long must therefore pass through a yield point often, or be
woken when such a request arrives.

``stop_if_requested`` is the yield point. Streamlit's own cache lock polls
with ``script_run_context.get_run_yield_check()``, which raises the pending
request without sending anything to the browser. That function is internal,
so it is used only if present; the public fallback is a ``session_state``
lookup, which is a yield point too.

``stop_wakeup`` is for a script thread that blocks on an event (a page
watching runs): one process-wide thread, the sentry, looks at the pending
requests of every such waiting script run ``SENTRY_EVERY_S`` and sets the
waiter's event when a stop or rerun is pending. 200 pages watching runs then
cost one thread's cheap look a few times a second instead of 200 threads
waking every second to look for themselves. The pending request is read from
``ScriptRequests._state``, an internal of Streamlit; where it is missing the
wake-up says so and the waiter falls back to waking every
``FALLBACK_WAIT_S``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import streamlit as st

_YieldCheck = Callable[[], Callable[[], None] | None]
get_run_yield_check: _YieldCheck | None
try:
    from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
    from streamlit.runtime.scriptrunner_utils.script_run_context import (
        get_run_yield_check,
        get_script_run_ctx,
    )
except ImportError:  # a Streamlit release that moved or dropped the internal hooks
    get_run_yield_check = None
    get_script_run_ctx = None  # type: ignore[assignment]
    ScriptRequestType = None  # type: ignore[assignment,misc]

_PROBE_KEY = "taskgate.stop_probe"

SENTRY_EVERY_S = 0.2
"""How often the sentry looks at the waiting script runs: a closed tab's thread ends within this."""
FALLBACK_WAIT_S = 1.0
"""Longest a waiter blocks where the sentry cannot see Streamlit's requests."""


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


@dataclass(frozen=True)
class StopWakeup:
    """An event set when this script run is asked to stop or rerun, and how long to block on it.

    ``longest_wait_s`` is ``None`` when the sentry watches this run (block as
    long as there is a reason to), else ``FALLBACK_WAIT_S``.
    """

    event: threading.Event
    longest_wait_s: float | None

    def bound(self, wait_s: float) -> float:
        """``wait_s``, shortened to the fallback where the sentry cannot wake the waiter."""
        return wait_s if self.longest_wait_s is None else min(wait_s, self.longest_wait_s)


class _Sentry:
    """The one thread that wakes waiting script runs whose stop or rerun is pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[threading.Event, Any] = {}
        self._anyone = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="taskgate-stop-sentry", daemon=True)
        self._thread.start()

    def add(self, event: threading.Event, requests: Any) -> None:
        with self._lock:
            self._watched[event] = requests
            self._anyone.set()

    def discard(self, event: threading.Event) -> None:
        with self._lock:
            self._watched.pop(event, None)

    def _loop(self) -> None:
        while True:
            self._anyone.wait()
            with self._lock:
                watched = list(self._watched.items())
                if not watched:
                    self._anyone.clear()
                    continue
            for event, requests in watched:
                if requests._state is not ScriptRequestType.CONTINUE:
                    event.set()
            time.sleep(SENTRY_EVERY_S)


_sentry: _Sentry | None = None
_sentry_lock = threading.Lock()


def _the_sentry() -> _Sentry:
    global _sentry
    with _sentry_lock:
        if _sentry is None:
            _sentry = _Sentry()
        return _sentry


def _pending_requests() -> Any | None:
    """This script run's Streamlit request box, where the internals allow the sentry to read it."""
    if get_script_run_ctx is None or ScriptRequestType is None:
        return None
    ctx = get_script_run_ctx(suppress_warning=True)
    requests = getattr(ctx, "script_requests", None)
    if getattr(requests, "_state", None) is None:
        return None
    return requests


@contextmanager
def stop_wakeup(requests: Any | None = None) -> Iterator[StopWakeup]:
    """A ``StopWakeup`` for this script run while the block runs.

    ``requests`` is the script run's Streamlit ``ScriptRequests``; by default
    this thread's. The event is also free for others to set (the run watcher
    sets it when a watched run changes); the waiter still calls
    ``stop_if_requested`` after each wait to raise the request itself.
    """
    event = threading.Event()
    if requests is None:
        requests = _pending_requests()
    if requests is None:
        yield StopWakeup(event, FALLBACK_WAIT_S)
        return
    sentry = _the_sentry()
    sentry.add(event, requests)
    try:
        yield StopWakeup(event, None)
    finally:
        sentry.discard(event)

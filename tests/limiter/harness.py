"""Threads that hold slots on command, and a sink that records events.

Every wait here is bounded, so a broken limiter fails a test instead of
hanging it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from core.limiter import GroupConfig, LimiterBackend, RunInfo, RunStatus, WaitInfo

WAIT_S = 5.0

HANG_S = 5.0
"""A gap this long means something stopped; tests bound waits with it, never measure speed."""

MakeLimiter = Callable[..., LimiterBackend]
"""``make_limiter(default_limit=1, events=None)``: builds the backend under test."""


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``predicate`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.002)


def queued(limiter: LimiterBackend, group: str) -> int:
    snap = limiter.snapshot().get(group)
    return snap.queued if snap else 0


def running(limiter: LimiterBackend, group: str) -> int:
    snap = limiter.snapshot().get(group)
    return snap.running if snap else 0


class Request:
    """One ``slot()`` call on its own thread that holds the slot until ``finish()``."""

    def __init__(
        self,
        limiter: LimiterBackend,
        group: str,
        *,
        owner: str = "owner",
        task: str = "task",
        on_wait: Callable[[WaitInfo], object] | None = None,
        body: Callable[[], object] | None = None,
        hold: bool = True,
    ) -> None:
        self.limiter = limiter
        self.group = group
        self.owner = owner
        self.task = task
        self.on_wait = on_wait
        self.body = body
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.run: RunInfo | None = None
        self.error: BaseException | None = None
        self.thread_id: int | None = None
        if not hold:
            self.release.set()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> Request:
        self._thread.start()
        return self

    def finish(self, timeout: float = WAIT_S) -> Request:
        """Let the block end and wait for the thread; fail if it does not end."""
        self.release.set()
        assert self.done.wait(timeout), f"request of {self.owner} did not finish"
        return self

    def outcome(self, timeout: float = WAIT_S) -> BaseException | None:
        """The exception that ended the request (None if it succeeded)."""
        assert self.done.wait(timeout), f"request of {self.owner} did not end"
        return self.error

    def _main(self) -> None:
        self.thread_id = threading.get_ident()
        try:
            with self.limiter.slot(
                self.group, owner=self.owner, task=self.task, on_wait=self.on_wait
            ) as run:
                self.run = run
                self.started.set()
                if not self.release.wait(WAIT_S * 2):
                    raise AssertionError("the test never released this slot")
                if self.body is not None:
                    self.body()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()


def enqueue(limiter: LimiterBackend, group: str, count: int, **kwargs: Any) -> list[Request]:
    """Start ``count`` requests one at a time, each after the previous one has queued."""
    already = queued(limiter, group)
    requests = []
    for index in range(count):
        request = Request(limiter, group, **kwargs).start()
        wait_until(
            lambda n=already + index + 1: queued(limiter, group) == n,
            f"{already + index + 1} queued in {group}",
        )
        requests.append(request)
    return requests


class Recorder:
    """An event sink that remembers every call, in order, with the calling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, Any, RunStatus | None, str | None, int]] = []

    def group_created(self, config: GroupConfig) -> None:
        self._add("group_created", config, None, None)

    def run_queued(self, run: RunInfo) -> None:
        self._add("run_queued", run, None, None)

    def run_started(self, run: RunInfo) -> None:
        self._add("run_started", run, None, None)

    def run_finished(self, run: RunInfo, status: RunStatus, error: str | None) -> None:
        self._add("run_finished", run, status, error)

    def _add(self, event: str, subject: Any, status: RunStatus | None, error: str | None) -> None:
        with self._lock:
            self.calls.append((event, subject, status, error, threading.get_ident()))

    def events_of(self, run_id: str) -> list[str]:
        with self._lock:
            return [
                call[0]
                for call in self.calls
                if isinstance(call[1], RunInfo) and call[1].id == run_id
            ]

    def finished(self) -> list[tuple[RunInfo, RunStatus, str | None]]:
        with self._lock:
            return [(c[1], c[2], c[3]) for c in self.calls if c[0] == "run_finished"]

    def finish_of(self, owner: str) -> tuple[RunStatus, str | None]:
        """Status and error of the single finished run of ``owner``."""
        matches = [(status, error) for run, status, error in self.finished() if run.owner == owner]
        assert len(matches) == 1, f"expected one finished run for {owner}, got {matches}"
        return matches[0]

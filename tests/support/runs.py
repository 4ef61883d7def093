"""Slots held by real runs, for tests about groups, queues and caps (not about executing tasks).

A held run (``app.held_run(group).holding(...)``, what ``hold_slot`` uses) is
a ``task_run`` row in its group's queue, granted by the process's admitter
under the same rules as any run, whose body is the caller's own block: a
test can hold a slot, or wait for one, for exactly as long as it likes,
without a worker process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.app import App, start_app
from core.run_watch import RunView
from core.settings import Settings

WAIT_S = 30.0
"""Bound on every wait for a grant or an outcome (generous: a loaded machine is slow)."""


def quiet_app(url: str) -> App:
    """A started App on the migrated database ``url`` that executes no task itself.

    Its admitter grants held runs; it has no worker processes
    (``workers="external"``), and its occupancy sampler does not sample
    within the hour, so a test's own ``OccupancySampler`` gets the sampling
    lease. Close it with ``app.close()``.
    """
    return start_app(
        Settings(
            database_url=url,
            workers="external",
            sample_interval_s=3600.0,
            admin_password="letmein-letmein",
        )
    )


def bounded(seconds: float = WAIT_S, on_wait: Callable[[RunView | None], None] | None = None):
    """An ``on_wait`` for ``holding`` that gives up (AssertionError) after ``seconds``."""
    deadline = time.monotonic() + seconds

    def check(view: RunView | None) -> None:
        if on_wait is not None:
            on_wait(view)
        if time.monotonic() > deadline:
            raise AssertionError(f"no slot was granted within {seconds:g} s")

    return check


@contextmanager
def holding(app: App, group: str, owner: str, label: str = "test") -> Iterator[None]:
    """Hold a slot of ``group`` as ``owner`` for the block (a refusal raises at once)."""
    with app.held_run(group).holding(owner, label, bounded()):
        yield


class SlotUser:
    """A thread that asks ``app`` for a slot of ``group`` and holds it until ``release()``.

    ``queued`` is set once it waits in the queue (its run is written and not
    granted), ``granted`` once it holds a slot (its run is running), ``done``
    when it left; ``error`` is what ended its wait, if anything (a refusal,
    or ``RunEnded`` with the sentence its owner reads); ``run_id`` is its run.
    """

    def __init__(self, app: App, group: str, owner: str = "user") -> None:
        self.queued = threading.Event()
        self.granted = threading.Event()
        self.done = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None
        self._held = app.held_run(group)
        self._thread = threading.Thread(target=self._run, args=(owner,), daemon=True)
        self._thread.start()

    @property
    def run_id(self) -> str | None:
        return self._held.id

    def _run(self, owner: str) -> None:
        try:
            on_wait = bounded(WAIT_S * 2, lambda _view: self.queued.set())
            with self._held.holding(owner, "test", on_wait):
                self.granted.set()
                self._release.wait(WAIT_S * 2)
        except Exception as error:  # the outcome under test
            self.error = error
        finally:
            self.done.set()

    def release(self) -> None:
        self._release.set()
        self._thread.join(WAIT_S)

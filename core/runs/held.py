"""A held run: page code that holds one slot of a group on the page's own thread.

``hold_slot`` (core/ui/own_page.py) is a run like any other: a ``task_run``
row in its group's queue, granted by the admitter under the same rules. It
differs only in who executes it: the row names this process (``held_by``),
so only this process's admitter grants it, and the body is the page's own
code, run on the script thread that waited for it. Its lease is renewed by
this process's heartbeat, waiting or running, so a server that dies leaves
no held run behind: the sweep ends it.

No Streamlit here: the page passes ``on_wait`` (called about ten times a
second while waiting: its stop check and its drawing) and stops the block
with its own exceptions, which this module records as a cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.limiter.errors import LimiterError, RunCancelled
from core.run_watch import RunView, RunWatcher
from core.runs.admitter import Admitter, HeldGrant
from core.runs.service import RunService
from db.models import RunStatus

WAIT_SLICE_S = 0.1
"""How often a waiting page is called back (its stop check)."""

STOPPED = "Stopped on the page (Cancel, a reload, another page or a closed tab)."


class RunEnded(LimiterError):
    """The held run ended while it waited (a queue timeout, an admin removed it)."""


class HeldRun:
    """One held run from its request to its outcome; see the module's docstring."""

    def __init__(
        self, runs: RunService, admitter: Admitter, watcher: RunWatcher, group: str
    ) -> None:
        self._runs = runs
        self._admitter = admitter
        self._watcher = watcher
        self.group = group
        self.id: str | None = None
        self._grant: HeldGrant | None = None

    @contextmanager
    def holding(
        self, owner: str, label: str, on_wait: Callable[[RunView | None], None]
    ) -> Iterator[None]:
        """Queue, wait (calling ``on_wait``), hold the slot for the block, record its end.

        A refusal raises its ``LimiterError`` before anything is queued. An
        exception from ``on_wait`` or the block (a page's stop) ends the run
        ``cancelled``; an ``Exception`` from the block ends it ``failed``.
        """
        run_id = self.id = self._runs.submit_held(
            self.group, owner, label, self._admitter.worker_id, self._admitter.lease_ttl_s
        )
        with self._admitter.waiting_for(run_id) as grant:
            self._grant = grant
            try:
                self._wait(grant, on_wait)
            except BaseException as stop:
                self._give_up(run_id, stop)
                raise
            if not self._admitter.held_started(run_id):
                raise RunEnded(self.group, "The slot was lost before the block could start.")
            try:
                yield
            except RunCancelled as stop:
                self._admitter.finished(run_id, RunStatus.CANCELLED, str(stop))
                raise
            except Exception as error:
                message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                self._admitter.finished(run_id, RunStatus.FAILED, message)
                raise
            except BaseException:
                self._admitter.finished(run_id, RunStatus.CANCELLED, STOPPED)
                raise
            self._admitter.finished(run_id, RunStatus.SUCCEEDED, None)

    def cancel_asked(self) -> str | None:
        """The sentence of a cancel someone asked for (My runs, an admin); None if none."""
        if self._grant is None or not self._grant.stop_asked.is_set() or self.id is None:
            return None
        view = self._watcher.view(self.id)
        return (view.admin_note if view else None) or "Cancelled from My runs."

    def _wait(self, grant: HeldGrant, on_wait: Callable[[RunView | None], None]) -> None:
        assert self.id is not None
        while not grant.granted.wait(WAIT_SLICE_S):
            view = self._watcher.view(self.id)
            if view is not None and not view.active:
                if view.status == RunStatus.CANCELLED:
                    raise RunCancelled(view.error or "Cancelled while it waited for a slot.")
                raise RunEnded(self.group, view.error or "The run ended before it started.")
            on_wait(view)

    def _give_up(self, run_id: str, stop: BaseException) -> None:
        """The page stopped waiting: leave the queue (or the slot granted just now)."""
        if isinstance(stop, (RunEnded, RunCancelled)):
            return  # it has ended already
        if self._grant is None or not self._grant.granted.is_set():
            self._runs.cancel(run_id, "page", sentence=STOPPED)  # ends it if it still waits
        # Granted, perhaps just now with its hand-out still on the way (the event not yet
        # set, and nobody left to take it): end it as its holder. A no-op for a run that
        # the cancel ended while it waited.
        self._admitter.finished(run_id, RunStatus.CANCELLED, STOPPED)

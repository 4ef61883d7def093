"""Give-backs the database refused for now, retried on a thread of their own until written.

A slot given back is a row deleted in the database. When that write fails
for a passing reason (the connection was killed, the server restarts) after
the quick retries on the releasing thread, the ticket would otherwise hold
its slot until its lease ran out: a group of one blocked for the whole TTL,
and the finished run recorded as lost. So the ticket stays leased (the
heartbeat keeps renewing it) and this thread keeps trying, with a growing
pause, until the delete is written or the limiter closes. The user's thread
never waits for it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from db.transient import backoff_s, reason

log = logging.getLogger(__name__)

FIRST_WAIT_S = 0.25
MAX_WAIT_S = 5.0


class PendingReleases:
    """Retries ``give_back(ticket_id, group_id)`` for each added ticket until it succeeds."""

    def __init__(self, give_back: Callable[[int, int], object]) -> None:
        self._give_back = give_back
        self._queue: queue.Queue[tuple[int, int] | None] = queue.Queue()
        """Tickets to give back, as (ticket_id, group_id); None tells the thread to stop."""
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="taskgate-limiter-releases", daemon=True
        )
        self._thread.start()

    def add(self, ticket_id: int, group_id: int) -> None:
        self._queue.put((ticket_id, group_id))

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop retrying; tickets still pending are left to expire by their lease."""
        self._closed.set()
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ticket_id, group_id = item
            if not self._until_given_back(ticket_id, group_id):
                return

    def _until_given_back(self, ticket_id: int, group_id: int) -> bool:
        """Try until written (True), or until closed (False)."""
        attempt = 1
        while not self._closed.is_set():
            try:
                self._give_back(ticket_id, group_id)
            except Exception as error:
                wait_s = backoff_s(attempt, FIRST_WAIT_S, MAX_WAIT_S)
                log.warning(
                    "still cannot give back ticket %d (%s); trying again in %.1f s",
                    ticket_id,
                    reason(error),
                    wait_s,
                )
                attempt += 1
                self._closed.wait(wait_s)
                continue
            log.info("gave back ticket %d after %d tries", ticket_id, attempt)
            return True
        log.warning("closing with ticket %d not given back; its lease will run out", ticket_id)
        return False

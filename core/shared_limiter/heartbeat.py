"""The thread that keeps this process's leases alive and clears the fleet's dead ones.

Every ``lease / 3`` it renews the leases of every ticket this limiter holds,
waiting or running (a crashed process's queue entries must expire too, or
they would block the queue for ever), and then admits in any group that has
an expired ticket, which reclaims it and records its run as lost. Waiters
also reclaim when they notice (see waiters.py); this sweep covers groups in
which nobody waits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Heartbeat:
    """Calls ``renew`` then ``sweep`` every ``interval_s`` on a daemon thread until ``stop``."""

    def __init__(
        self, interval_s: float, renew: Callable[[], object], sweep: Callable[[], object]
    ) -> None:
        self._interval_s = interval_s
        self._renew = renew
        self._sweep = sweep
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name="taskgate-limiter-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval_s):
            for step in (self._renew, self._sweep):
                try:
                    step()
                except Exception:
                    # A database hiccup must not kill the heartbeat: the next
                    # beat comes well before any lease runs out.
                    log.exception("limiter heartbeat step %s failed", step.__name__)

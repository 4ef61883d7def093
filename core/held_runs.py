"""Leases for runs held by a page's own code (``core.ui.own_page.hold_slot``).

A durable run's lease is renewed by the dispatcher that holds it, so the run
of a worker that dies is recorded ``lost`` once its lease runs out. A block of
page code that holds a slot has no dispatcher: it runs on the web server's
script thread. Without a lease of its own, a server killed while such a block
ran (SIGKILL, an OOM kill, a lost host) would leave its row ``running`` for
ever. So the process renews the leases of the blocks it holds here, every
third of the TTL, and the same sweep that finds dead workers' runs (any
process's dispatcher heartbeat or ``sweep-runs`` job) records them ``lost``.

The first lease is written with the row by the run recorder (the page's
thread never waits for the database); renewals take the database's clock,
as a dispatcher's do.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from core.shared_limiter.database import LimiterDatabase
from core.worker import store


class HeldRuns:
    """The ids of the runs this process holds on page threads, and their lease renewal."""

    def __init__(self, db: LimiterDatabase, ttl_s: float) -> None:
        self._db = db
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    def hold(self, run_id: str) -> None:
        with self._lock:
            self._ids.add(run_id)

    def release(self, run_id: str) -> None:
        with self._lock:
            self._ids.discard(run_id)

    def renew(self) -> None:
        """Extend every held run's lease (a scheduled job, every third of the TTL)."""
        with self._lock:
            ids = list(self._ids)
        if not ids:
            return
        with self._db.write() as connection:
            until = store.clock(connection) + timedelta(seconds=self.ttl_s)
            store.renew_held(connection, ids, until)

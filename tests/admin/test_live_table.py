"""The live view's table takes a group's oldest wait from its runs' rows, not only the snapshot.

The occupancy snapshot's oldest wait and the runs' rows are read at
different moments; the table shows the longer of the two, so a run that
has waited all along is never shown as newer than it is.
"""

from __future__ import annotations

from datetime import timedelta

from core.limiter import GroupSnapshot
from core.ui.admin.live import live_table, oldest_waits
from core.worker.fleet_view import QueuedRow
from db.models import utcnow


def queued(group: str, position: int | None, waited_s: float, now) -> QueuedRow:
    return QueuedRow(
        id=f"run-{position}", group=group, position=position,
        status="queued" if position else "running", task="sleepy", owner="ann",
        owner_name="ann", params={}, host="", device="",
        since=now - timedelta(seconds=waited_s), cancelling=False,
    )  # fmt: skip


def snapshot(name: str, oldest_wait_s: float | None) -> GroupSnapshot:
    return GroupSnapshot(
        name=name, limit=1, paused=False, max_queue=None, queue_timeout_s=None,
        per_owner_limit=None, description="", version=1, running=1, queued=2,
        oldest_wait_s=oldest_wait_s,
    )  # fmt: skip


def test_the_oldest_wait_is_the_longest_of_the_rows_and_the_limiters_queue():
    now = utcnow()
    runs = [
        queued("A", None, 300.0, now),  # running: not waiting
        queued("A", 1, 19.0, now),
        queued("A", 2, 40.0, now),
        queued("b", 1, 5.0, now),
    ]
    waits = oldest_waits(runs, now)
    assert waits == {"a": 40.0, "b": 5.0}
    table = live_table(
        {"A": snapshot("A", 2.0), "B": snapshot("B", 7.0), "C": snapshot("C", None)}, {}, waits
    )
    assert list(table["Oldest wait"]) == ["40.0 s", "7.0 s", "–"]

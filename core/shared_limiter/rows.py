"""A group as the database holds it: its settings and its tickets, read in one statement.

Every decision (admit, queue, refuse) and every view (a waiter's place, the
fleet snapshot) is computed in Python from these values by the rules both
backends share (core/limiter/policy.py), so the SQL stays a handful of
plain reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.limiter import GroupConfig, RunInfo, policy


@dataclass(frozen=True)
class Ticket:
    """One row of ``limiter_ticket``: a request waiting in a group's queue or holding a slot."""

    id: int
    run_id: str
    group_id: int
    owner: str
    task: str
    params: dict[str, Any] | None
    state: str
    enqueued_at: datetime
    granted_at: datetime | None
    lease_expires_at: datetime
    host: str
    pid: int
    holder: str

    @property
    def running(self) -> bool:
        return self.state == "running"

    def expired(self, now: datetime) -> bool:
        """True once its holder has stopped renewing it for a whole lease."""
        return self.lease_expires_at < now

    def run_info(self, group: str) -> RunInfo:
        """The request as the limiter's API shows it, with the process that made it."""
        return RunInfo(
            id=self.run_id,
            group=group,
            owner=self.owner,
            task=self.task,
            params=self.params,
            enqueued_at=self.enqueued_at.timestamp(),
            started_at=self.granted_at.timestamp() if self.granted_at else None,
            host=self.host,
            pid=self.pid,
        )


@dataclass(frozen=True)
class GroupState:
    """A ``concurrency_group`` row and its tickets in ticket (= queue) order."""

    id: int
    config: GroupConfig
    tickets: tuple[Ticket, ...]

    @property
    def running(self) -> list[Ticket]:
        return [ticket for ticket in self.tickets if ticket.running]

    @property
    def waiting(self) -> list[Ticket]:
        return [ticket for ticket in self.tickets if not ticket.running]

    def has_room(self) -> bool:
        return policy.has_room(self.config, len(self.running))

    def needs_admission(self, now: datetime) -> bool:
        """True when admission would change something: a dead lease, or room with a queue.

        Neither lasts after a write by this code (every write admits), so
        this finds what others left: a crashed process, or a limit raised
        by hand in the database.
        """
        if any(ticket.expired(now) for ticket in self.tickets):
            return True
        return bool(self.waiting) and self.has_room()

    def oldest_running_s(self, now: datetime) -> float:
        started = (t.granted_at.timestamp() if t.granted_at else None for t in self.running)
        return policy.oldest_running_s(started, now.timestamp())

    def owner_count(self, owner: str) -> int:
        return sum(1 for ticket in self.tickets if ticket.owner == owner)

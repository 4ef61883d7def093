"""An admin's actions on runs: cancel a running run, remove or promote a queued one, clear a queue.

Each method refuses a non-admin ``Actor`` (``core.auth.require_admin``) before
touching anything, and makes its change and its ``audit_event`` rows (one
per run: the actor, the action, the group, and the run's id, task and owner
in ``before``/``after``) in ONE transaction, so the log never claims an
action that did not happen. The run's owner reads what was done in a
sentence naming the admin and the time ("Cancelled by admin alice at 14:02
UTC.", or "by the admin" for the password admin, named "admin"): a stopped
run's ``error`` (through ``stop_sentence``, which the final write prefers
for a cancel), or ``admin_note`` on a run that goes on.

Stopping a run that holds a slot is a request its executor carries out (the
task stops at its next progress step, or its process is killed after the
grace period); a waiting run is ended here at once.

Moving a run to the head lowers its ``queue_order`` below the group's
lowest, under the grant lock: the next grant in its group is its.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from core.auth import ADMIN_NAME, Actor, require_admin
from core.runs import sql
from core.runs.database import RunDatabase
from core.runs.signals import publish
from core.runs.sql import QUEUE_ORDER, RUNS, WAITING, clock
from db.models import AuditEvent, RunStatus, group_name_key

AUDIT = AuditEvent.__table__


class RunActionRefused(Exception):
    """The run is not in a state the action applies to; the message is the sentence to show."""


class QueueChanged(RunActionRefused):
    """The admin confirmed clearing N runs but the queue holds a different number now."""


def _at(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def _by(actor: Actor) -> str:
    """Who did it, as the owner reads it: "by admin alice", not "by admin admin"."""
    return "by the admin" if actor.name == ADMIN_NAME else f"by admin {actor.name}"


def _run(connection: Connection, run_id: str):
    row = connection.execute(
        select(
            RUNS.c.id,
            RUNS.c.group_name,
            RUNS.c.group_key,
            RUNS.c.task,
            RUNS.c.owner,
            RUNS.c.status,
            RUNS.c.worker_id,
            RUNS.c.cancel_requested_at,
        ).where(RUNS.c.id == run_id)
    ).first()
    if row is None:
        raise RunActionRefused("There is no such run; it may have been deleted with its history.")
    return row


def _audit(connection: Connection, actor: Actor, action: str, run, status: str) -> None:
    about = {"run": run.id, "task": run.task, "owner": run.owner}
    connection.execute(
        insert(AUDIT).values(
            ts=clock(connection),
            actor=actor.name,
            action=action,
            group_name=run.group_name,
            before={**about, "status": run.status},
            after={**about, "status": status},
        )
    )


class RunAdmin:
    """The admin's levers on runs; each change is announced to the admitters."""

    def __init__(self, db: RunDatabase, wake: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._wake = wake

    def cancel(self, actor: Actor, run_id: str) -> None:
        """Stop a running run; its owner reads "Cancelled by admin NAME at HH:MM UTC."."""
        require_admin(actor)
        with self._db.write() as connection:
            publish(connection)  # delivered at commit, to every admitter
            run = _run(connection, run_id)
            if run.status != RunStatus.RUNNING:
                raise RunActionRefused(
                    "That run is not running any more, so there is nothing to cancel."
                )
            self._stop(connection, actor, run, "cancel run", "Cancelled")
        self._changed()

    def remove(self, actor: Actor, run_id: str) -> None:
        """Take a queued run out of its queue; its owner reads "Removed from the queue by …"."""
        require_admin(actor)
        with self._db.write() as connection:
            publish(connection)  # delivered at commit, to every admitter
            run = _run(connection, run_id)
            if run.status != RunStatus.QUEUED:
                raise RunActionRefused("That run is not waiting any more, so it cannot be removed.")
            self._stop(connection, actor, run, "remove run", "Removed from the queue")
        self._changed()

    def queued(self, group: str) -> list[str]:
        """The ids of ``group``'s queued runs, head first."""
        with self._db.read() as connection:
            return self._queued(connection, group)

    def clear_queue(self, actor: Actor, group: str, expected: int) -> int:
        """Remove every queued run of ``group``; ``expected`` is the count the admin confirmed.

        If the queue holds a different number now, nothing is removed and
        QueueChanged says how many it holds, so the admin confirms again.
        """
        require_admin(actor)
        with self._db.write() as connection:
            publish(connection)  # delivered at commit, to every admitter
            sql.lock_group(connection, group)
            ids = self._queued(connection, group)
            if len(ids) != expected:
                held = f"{len(ids)} run" if len(ids) == 1 else f"{len(ids)} runs"
                raise QueueChanged(
                    f"The queue of group {group} now holds {held}, not {expected}; "
                    "nothing was removed. Confirm again to clear it."
                )
            for run_id in ids:
                self._stop(
                    connection, actor, _run(connection, run_id), "clear queue",
                    "Removed from the queue (the queue was cleared)",
                )  # fmt: skip
        self._changed()
        return len(ids)

    def move_to_head(self, actor: Actor, run_id: str) -> None:
        """Put a queued run first in its group's queue (see the module's note on claimed runs)."""
        require_admin(actor)
        with self._db.write() as connection:
            publish(connection)  # delivered at commit, to every admitter
            sql.serialise(connection)  # no grant reads the queue halfway through the move
            run = _run(connection, run_id)
            if (
                run.status != RunStatus.QUEUED
                or run.worker_id is not None
                or run.cancel_requested_at is not None
            ):
                raise RunActionRefused("That run is not waiting any more, so it cannot be moved.")
            now = clock(connection)
            lowest = connection.execute(
                select(func.min(RUNS.c.queue_order)).where(
                    RUNS.c.group_key == run.group_key, WAITING
                )
            ).scalar_one()
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run.id)
                .values(
                    queue_order=(lowest or 0.0) - 1.0,
                    admin_note=f"Moved to the head of the queue {_by(actor)} at {_at(now)}.",
                )
            )
            _audit(connection, actor, "move run to head", run, "queued")
        self._changed()

    # ------------------------------------------------------------------------------
    @staticmethod
    def _queued(connection: Connection, group: str) -> list[str]:
        return list(
            connection.execute(
                select(RUNS.c.id)
                .where(
                    RUNS.c.group_key == group_name_key(group),
                    RUNS.c.status == RunStatus.QUEUED,
                    RUNS.c.cancel_requested_at.is_(None),
                )
                .order_by(*QUEUE_ORDER)
            ).scalars()
        )

    @staticmethod
    def _stop(connection: Connection, actor: Actor, run, action: str, what: str) -> None:
        now = clock(connection)
        sentence = f"{what} {_by(actor)} at {_at(now)}."
        if run.status == RunStatus.QUEUED and run.worker_id is None:  # waiting: end it here
            ended = connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run.id, WAITING)
                .values(
                    status=RunStatus.CANCELLED,
                    finished_at=now,
                    error=sentence,
                    cancel_requested_at=now,
                    cancelled_by=actor.name,
                    admin_note=sentence,
                )
            ).rowcount
            if ended:
                _audit(connection, actor, action, run, RunStatus.CANCELLED)
                return
        asked = connection.execute(
            update(RUNS)
            .where(
                RUNS.c.id == run.id,
                RUNS.c.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
                RUNS.c.cancel_requested_at.is_(None),
            )
            .values(
                cancel_requested_at=now,
                cancelled_by=actor.name,
                stop_sentence=sentence,
                admin_note=sentence,
            )
        ).rowcount
        if not asked:
            raise RunActionRefused("That run has just ended or is already being cancelled.")
        _audit(connection, actor, action, run, "cancelling")

    def _changed(self) -> None:
        self._wake()

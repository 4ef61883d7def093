"""Submitting and cancelling durable runs: what a page (or any caller) does to ask for work.

``submit`` writes the run ``queued`` and returns its id; a dispatcher
(core/worker/dispatcher.py) claims it later. The refusals a person must see
at once are decided here, in the same transaction as the insert and under
the group's lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE``
of the group row on PostgreSQL), so two tabs racing cannot both slip under
a cap: an unknown group, a full queue, the per-person cap counting the
owner's queued and running runs. Each refusal is a ``LimiterError`` whose
message is the sentence to show.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping

from core.limiter import OwnerLimitReached, QueueFull, UnknownGroup
from core.shared_limiter import store as limiter_store
from core.shared_limiter.database import LimiterDatabase
from core.tasks import registry
from core.tasks.assignment import group_of
from core.worker import codec, store

INPUTS_MAX_BYTES = 64 * 1024**2
"""Largest stored inputs of one run; image fields cap their uploads far below this."""


def new_run_id() -> str:
    """A random UUID hex: unique, not secret (``random`` avoids a GIL-releasing urandom call)."""
    return uuid.UUID(int=random.getrandbits(128), version=4).hex


class RunService:
    """Writes run requests and cancel requests; tells listeners (a local dispatcher) at once."""

    def __init__(self, db: LimiterDatabase) -> None:
        self._db = db
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every submit and cancel (a dispatcher's wake-up)."""
        self._listeners.append(listener)

    def submit(
        self,
        task_key: str,
        settings: Mapping[str, object],
        owner: str,
        inputs: Mapping[str, object] | None = None,
    ) -> str:
        """Queue a run of ``task_key`` with ``settings`` for ``owner``; its id, or a refusal.

        ``inputs`` are the values ``settings`` records only by their size (an
        uploaded image, ``TaskSpec.inputs``): stored with the run for its worker.
        """
        stored_inputs = codec.encode(dict(inputs), INPUTS_MAX_BYTES) if inputs else None
        spec = registry.get(task_key)
        group = group_of(self._db.reader, spec.key)  # the admin's assignment, else the default
        run_id = new_run_id()
        with self._db.write() as connection:
            limiter_store.lock_group(connection, name=group)
            rules = store.group_rules(connection, group)
            if rules is None:
                raise UnknownGroup(group)
            queued, running, mine = store.active_counts(connection, rules.name, owner)
            if rules.per_owner_limit is not None and mine >= rules.per_owner_limit:
                raise OwnerLimitReached(rules.name, rules.per_owner_limit)
            must_wait = rules.paused or queued > 0 or running >= rules.limit
            if must_wait and rules.max_queue is not None and queued >= rules.max_queue:
                raise QueueFull(rules.name, rules.max_queue)
            store.insert_run(
                connection,
                id=run_id,
                group_name=rules.name,
                task=spec.key,
                owner=owner,
                params=dict(settings),
                inputs=stored_inputs,
                enqueued_at=limiter_store.clock(connection),
            )
        self._changed()
        return run_id

    def cancel(self, run_id: str, actor: str, owner: str | None = None) -> bool:
        """Ask for an active run to be cancelled; False if it had ended (or is not ``owner``'s).

        The dispatcher holding the run carries it out: a queued run leaves
        the queue, a running task stops at its next progress step (or its
        process is killed after the grace period).
        """
        with self._db.write() as connection:
            if owner is not None and store.owner_of(connection, run_id) != owner:
                return False
            done = store.request_cancel(connection, run_id, actor, limiter_store.clock(connection))
        if done:
            self._changed()
        return done

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

"""Submitting and cancelling runs: what a page (or any caller) does to ask for work.

``submit`` writes the run ``queued`` and returns its id; the admitter grants
it its slot later. The refusals a person must see at once are the admission
policy's (``policy.refusal``), decided here in the same transaction as the
insert and under the group's lock (``BEGIN IMMEDIATE`` on SQLite, the group's
row ``FOR UPDATE`` on PostgreSQL), so two tabs racing cannot both slip under
a cap: an unknown group, a full queue, the per-person cap. Each refusal is a
``LimiterError`` whose message is the sentence to show.

A task run the same owner already asked for, with the same settings, less
than ``DUPLICATE_WINDOW_S`` ago is refused too (``DuplicateRun``): a
double-click, a retried request or two tabs pressing Run together make one
run, whichever page, script or API call sent them. The check reads that
owner's recent runs of the task inside the same locked transaction, so two
identical submits racing cannot both pass it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from core.limiter import LimiterError, UnknownGroup, policy
from core.runs import sql
from core.runs.database import RunDatabase
from core.runs.ids import new_run_id
from core.runs.signals import publish
from core.tasks import registry
from core.tasks.assignment import group_of
from core.worker import codec
from db.models import RUN_SOURCE_PAGE

INPUTS_MAX_BYTES = 64 * 1024**2
"""Largest stored inputs of one run; image fields cap their uploads far below this."""

DUPLICATE_WINDOW_S = 3.0
"""A second identical submit (same owner, task and settings) this soon after the first is
refused: long enough for a double-click or a resent request, short enough not to stand in
the way of someone who means to run it again."""


class DuplicateRun(LimiterError):
    """The same owner asked for the same task with the same settings a moment ago."""

    def __init__(self, group: str, window_s: float) -> None:
        super().__init__(
            group,
            f"You asked for this same run (same task and settings) less than {window_s:g} s "
            "ago, so it was not started twice; wait a moment to run it again on purpose.",
        )
        self.window_s = window_s


class RunService:
    """Writes run requests and cancel requests, and tells the admitters at once."""

    def __init__(
        self,
        db: RunDatabase,
        wake: Callable[[], None] = lambda: None,
        duplicate_window_s: float = DUPLICATE_WINDOW_S,
    ) -> None:
        """``wake``: this process's admitter, told at once (others hear through ``publish``);
        ``duplicate_window_s``: 0 turns the duplicate rule off (``TASKGATE_DUPLICATE_WINDOW_S``)."""
        self._db = db
        self._duplicate_window_s = duplicate_window_s
        self._wake = wake

    def submit(
        self,
        task_key: str,
        settings: Mapping[str, object],
        owner: str,
        inputs: Mapping[str, object] | None = None,
        source: str = RUN_SOURCE_PAGE,
    ) -> str:
        """Queue a run of ``task_key`` with ``settings`` for ``owner``; its id, or a refusal.

        ``inputs`` are the values ``settings`` records only by their size (an
        uploaded image, ``TaskSpec.inputs``): stored with the run for its executor.
        ``source`` records how it was asked for: "page" or "api" (core/api).
        """
        stored_inputs = codec.encode(dict(inputs), INPUTS_MAX_BYTES) if inputs else None
        spec = registry.get(task_key)
        group = group_of(self._db.reader, spec.key)  # the admin's assignment, else the default
        return self._queue(
            group,
            owner,
            once=True,
            task=spec.key,
            params=dict(settings),
            inputs=stored_inputs,
            source=source,
        )

    def submit_held(self, group: str, owner: str, label: str, held_by: str, ttl_s: float) -> str:
        """Queue a held run (page code, ``hold_slot``) that only process ``held_by`` runs."""
        return self._queue(group, owner, task=label, params={}, held_by=held_by, lease_s=ttl_s)

    def _queue(
        self,
        group: str,
        owner: str,
        lease_s: float | None = None,
        once: bool = False,
        **values: Any,
    ) -> str:
        """Insert the run under the group's lock; ``once``: refuse a duplicate (DuplicateRun)."""
        run_id = new_run_id()
        with self._db.write() as connection:
            config = sql.lock_group(connection, group)
            if config is None:
                raise UnknownGroup(group)
            counts = sql.counts(connection, config.name, owner)
            refusal = policy.refusal(
                config, owner_has=counts.owner_has, queued=counts.waiting, running=counts.holding
            )
            if refusal is not None:
                raise refusal
            now = sql.clock(connection)
            window_s = self._duplicate_window_s
            since = now - timedelta(seconds=window_s)
            if (
                once
                and window_s > 0
                and sql.asked_again(connection, owner, values["task"], values["params"], since)
            ):
                raise DuplicateRun(config.name, window_s)
            sql.insert_run(
                connection,
                id=run_id,
                group_name=config.name,
                owner=owner,
                enqueued_at=now,
                lease_expires_at=None if lease_s is None else now + timedelta(seconds=lease_s),
                **values,
            )
            publish(connection)
        self._wake()
        return run_id

    def cancel(
        self, run_id: str, actor: str, owner: str | None = None, sentence: str | None = None
    ) -> bool:
        """Cancel an active run; False if it had ended (or is not ``owner``'s).

        A waiting run ends ``cancelled`` at once; a granted or running one is
        stopped by its executor at its next progress step (or its process is
        killed after the grace period).
        """
        with self._db.write() as connection:
            if owner is not None and sql.owner_of(connection, run_id) != owner:
                return False
            done = sql.request_cancel(connection, run_id, actor, sql.clock(connection), sentence)
            if done:
                publish(connection)
        if done:
            self._wake()
        return done

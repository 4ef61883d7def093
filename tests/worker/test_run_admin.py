"""An admin acts on runs: cancel a running one, remove, promote, clear; a non-admin cannot.

Real App (the embedded executor and its worker processes) on SQLite and on
PostgreSQL, whose grants take an advisory lock instead of SQLite's write
lock; every wait is on a row, bounded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from core.app import App
from core.auth import Actor, NotAuthorized
from core.runs.admin import QueueChanged, RunActionRefused
from core.ui.run_widget import waiting_sentence
from db.models import AuditEvent
from tests.support.database import sqlite_url
from tests.worker.support import finished, postgres_app, run_row, running, started_app, wait_for

ALICE = Actor("alice", is_admin=True)
MALLORY = Actor("mallory")
LONG = {"steps": 2000, "step_s": 0.05}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_app(request, tmp_path_factory) -> Iterator[App]:
    if request.param == "sqlite":
        yield from started_app(sqlite_url(tmp_path_factory.mktemp("worker")))
    else:
        yield from postgres_app()


def audit(app) -> list[AuditEvent]:
    with Session(app.engine) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


def run_events(app) -> list[tuple[str, str, str, str]]:
    return [
        (e.actor, e.action, e.after["run"], e.after["owner"])
        for e in audit(app)
        if e.after and "run" in e.after
    ]


def test_an_admin_cancels_removes_promotes_and_clears(app):
    running_id = app.runs.submit("sleepy", LONG, "ann")
    running(app, running_id)
    bob, cat, dan, eve = (
        app.runs.submit("sleepy", LONG, who) for who in ("bob", "cat", "dan", "eve")
    )
    admin = app.run_admin
    assert admin.queued("A") == [bob, cat, dan, eve]

    admin.move_to_head(ALICE, dan)
    assert admin.queued("A") == [dan, bob, cat, eve]
    assert run_row(app, dan).admin_note.startswith("Moved to the head of the queue by admin alice")
    shown = waiting_sentence(app.watcher.wait([dan], {}, 0).get(dan))  # as the task page says
    assert "— position 1 of 4" in shown and "Moved to the head of the queue by admin alice" in shown

    admin.remove(ALICE, cat)
    removed = finished(app, cat)
    assert removed.status == "cancelled"
    assert removed.error.startswith("Removed from the queue by admin alice")

    admin.cancel(ALICE, running_id)
    cancelled = finished(app, running_id)
    assert cancelled.status == "cancelled"
    assert cancelled.error.startswith("Cancelled by admin alice at ")
    # The promoted run, asked back and claimed again, is the one that gets the slot.
    running(app, dan)
    assert run_row(app, bob).status == "queued" and run_row(app, eve).status == "queued"

    fay = app.runs.submit("sleepy", LONG, "fay")
    assert admin.queued("A") == [bob, eve, fay]
    with pytest.raises(QueueChanged, match="holds 3 run"):
        admin.clear_queue(ALICE, "A", expected=2)
    assert admin.queued("A") == [bob, eve, fay]
    assert admin.clear_queue(ALICE, "A", expected=3) == 3
    for run_id in (bob, eve, fay):
        row = finished(app, run_id)
        assert row.status == "cancelled"
        assert row.error.startswith("Removed from the queue (the queue was cleared) by admin alice")
    with pytest.raises(RunActionRefused, match="not waiting"):
        admin.remove(ALICE, bob)

    admin.cancel(ALICE, dan)
    assert finished(app, dan).status == "cancelled"
    assert run_events(app) == [
        ("alice", "move run to head", dan, "dan"),
        ("alice", "remove run", cat, "cat"),
        ("alice", "cancel run", running_id, "ann"),
        ("alice", "clear queue", bob, "bob"),
        ("alice", "clear queue", eve, "eve"),
        ("alice", "clear queue", fay, "fay"),
        ("alice", "cancel run", dan, "dan"),
    ]


def test_a_non_admin_is_refused_and_nothing_changes(app):
    held = app.runs.submit("sleepy", LONG, "ann")
    running(app, held)
    first, second = app.runs.submit("sleepy", LONG, "bob"), app.runs.submit("sleepy", LONG, "cat")
    events_before = len(audit(app))
    admin = app.run_admin
    for attempt in (
        lambda: admin.cancel(MALLORY, held),
        lambda: admin.remove(MALLORY, first),
        lambda: admin.clear_queue(MALLORY, "A", expected=2),
        lambda: admin.move_to_head(MALLORY, second),
    ):
        with pytest.raises(NotAuthorized):
            attempt()
    assert [run_row(app, r).status for r in (held, first, second)] == [
        "running",
        "queued",
        "queued",
    ]
    assert admin.queued("A") == [first, second]
    assert all(run_row(app, r).admin_note is None for r in (held, first, second))
    assert len(audit(app)) == events_before
    admin.clear_queue(ALICE, "A", expected=2)
    admin.cancel(ALICE, held)
    wait_for(app, held, lambda row: row.finished_at is not None, "finished")

"""A group whose name SQL's lower() cannot fold (``Äx`` on SQLite) takes runs like any other.

Runs are matched to their group by ``task_run.group_key`` (Python's
``casefold()``), written with each run; before it, a request for a task in
group ``Äx`` was refused as for a group that does not exist.
"""

from __future__ import annotations

import pytest

from core.auth import Actor
from core.limiter.config import GroupSettings
from core.tasks.assignment import move_task
from tests.worker.support import WAIT_S, finished, postgres_app, running

ADMIN = Actor("root", is_admin=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request, module_app):
    if request.param == "sqlite":
        yield module_app
    else:
        yield from postgres_app()


@pytest.fixture
def umlaut_group(app):
    service = app.groups()
    service.create(ADMIN, "Äx", GroupSettings(limit=1))
    # The admin types the name in another case: it is the same group.
    assert move_task(app.engine, ADMIN, "sleepy", "äX") == "Äx"
    yield "Äx"
    move_task(app.engine, ADMIN, "sleepy", "A")
    record = service.get("Äx")
    # The view of the queue is read at most every second or so: it may still count the run.
    service.delete(ADMIN, "Äx", record.version, confirm=True)


def test_a_run_in_group_äx_runs_and_the_next_waits_behind_it(app, umlaut_group):
    first = app.runs.submit("sleepy", {"steps": 600, "step_s": 0.05}, "ann")
    second = app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, "bob")
    assert running(app, first).group_name == "Äx"
    # The owner's page sees the second run first in the line, behind the running one.
    view = app.watcher.wait([second], {}, WAIT_S)[second]
    assert (view.status, view.position) == ("queued", 1)
    assert app.occupancy.fresh()["Äx"].queued == 1
    assert app.runs.cancel(first, "ann")
    assert finished(app, first).status == "cancelled"
    assert finished(app, second).status == "succeeded"

"""The live view's reads: workers with their device figures, and every queue in order."""

from __future__ import annotations

from core.auth import Actor
from core.identity import set_guest_name
from core.ui.admin.run_actions import _device_figures, task_title
from core.worker.fleet_view import active_runs, owner_label, workers
from db.models import utcnow
from tests.worker.support import finished, running

LONG = {"steps": 2000, "step_s": 0.05}
GUEST = "guest:5815d33a9f" + "0" * 22
NAMED_GUEST = "guest:" + "ab" * 16


def test_workers_and_runs_in_line_as_the_admin_reads_them(app):
    held = app.runs.submit("sleepy", LONG, "ann")
    running(app, held)
    first = app.runs.submit("sleepy", LONG, GUEST)
    set_guest_name(app.engine, NAMED_GUEST, "Bob <b>")
    second = app.runs.submit("sleepy", LONG, NAMED_GUEST)
    app.run_admin.move_to_head(Actor("alice", is_admin=True), second)
    with app.db.read() as connection:
        fleet = workers(connection, utcnow())
        line = active_runs(connection)
    [worker] = fleet
    assert worker.running == 1 and worker.device == "cpu" and worker.groups is None
    assert worker.gpu_memory_total is None
    assert "CPU reports no device memory" in _device_figures(worker)
    assert [(r.id, r.status, r.position) for r in line] == [
        (held, "running", None),
        (second, "queued", 1),
        (first, "queued", 2),
    ]
    assert [r.owner_name for r in line] == ["ann", "Bob <b>", "Guest 5815"]
    assert owner_label("user:" + "c3" * 16) == "signed-in user c3c3c3"
    assert task_title("sleepy") != "" and task_title("no-such-task") == "no-such-task"
    admin = app.run_admin
    admin.clear_queue(Actor("alice", is_admin=True), "A", expected=2)
    admin.cancel(Actor("alice", is_admin=True), held)
    assert finished(app, held).status == "cancelled"

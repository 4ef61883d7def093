"""A block of page code holding a slot has a lease: a killed web server's block ends ``lost``.

``core.ui.own_page.hold_slot`` runs on the web server's own script thread, not
in a worker. A real process starts an App, holds a slot of group A the way
``hold_slot`` does (a held run, its lease renewed by the App's admitter), and
is SIGKILLed; the sweep any other process runs then records the run ``lost``
once the lease has run out. Waits poll rows, with bounds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from core.runs import sql
from core.runs.database import RunDatabase
from core.runs.sentences import LEASE_LOST
from db.engine import dispose_engines, get_engine
from db.migrate import upgrade
from db.models import TaskRun
from tests.support.database import sqlite_url

ROOT = Path(__file__).resolve().parents[2]
TTL_S = 3.0
BOUND_S = 90.0  # a hang guard: a loaded machine imports and starts slowly

HOLDER = textwrap.dedent(
    """
    import sys, time
    from core.app import start_app
    from core.settings import Settings

    app = start_app(Settings(database_url=sys.argv[1], lease_ttl_s=float(sys.argv[2]),
                             workers="external", admin_password="letmein-letmein"))
    held = app.held_run("A")  # as core.ui.own_page.HeldSlot does
    with held.holding("ann", "a block of page code", on_wait=lambda view: None):
        print("held", held.id, flush=True)
        time.sleep(3600)
    """
)


def sweep_runs(db: RunDatabase) -> None:
    """The sweep every live admitter runs, run here by the test (no admitter of its own)."""
    with db.write() as connection:
        sql.sweep(connection, sql.clock(connection))


def row_of(url: str, run_id: str) -> TaskRun:
    with Session(get_engine(url), expire_on_commit=False) as session:
        row = session.get(TaskRun, run_id)
        assert row is not None
        return row


def _until(check, what: str):
    deadline = time.monotonic() + BOUND_S
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"never saw {what}")
        time.sleep(0.1)  # polling another process's rows, not synchronising threads


def test_a_killed_servers_held_block_is_recorded_lost_when_its_lease_runs_out(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade(url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(TTL_S)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    db = RunDatabase(url)
    try:
        line = holder.stdout.readline()  # bounded by the test's own timeout
        assert line.startswith("held "), line
        run_id = line.split()[1]
        first: TaskRun = row_of(url, run_id)
        assert first.status == "running" and first.lease_expires_at is not None

        # The App's admitter renews the lease while the block runs...
        _until(
            lambda: row_of(url, run_id).lease_expires_at > first.lease_expires_at,
            "the held run's lease renewed",
        )
        sweep_runs(db)
        assert row_of(url, run_id).status == "running", "a renewed lease is not swept"

        # ...and nobody renews it once the server is killed.
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=BOUND_S)

        def swept_lost():
            sweep_runs(db)
            row = row_of(url, run_id)
            return row if row.status == "lost" else None

        lost = _until(swept_lost, "the killed server's held run recorded lost")
        assert lost.error == LEASE_LOST and lost.finished_at is not None
    finally:
        if holder.poll() is None:
            holder.kill()
        db.dispose()
        dispose_engines()

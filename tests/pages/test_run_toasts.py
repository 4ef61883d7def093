"""Toasts for an owner's runs: what they say, and that watching pages do not each query for them.

A page calls ``toast_run_changes`` whenever its wait ends; the
statuses of the runs it knows of come from the app's ``RunWatcher`` (one
read for every session), and the owner's runs are read again only every
``RESCAN_EVERY_S``.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.ui import bootstrap, run_toasts
from core.ui.run_toasts import changes

OWNER = "guest:" + "7" * 32
ADMIN = Actor("alice", is_admin=True)
WAIT_S = 60.0


def test_each_change_of_a_known_run_gets_its_sentence_and_others_none():
    seen = {"r1": ("matmul", "queued"), "r2": ("fractal", "running"), "r3": ("matmul", "queued")}
    current = {
        "r1": ("matmul", "running"),
        "r2": ("fractal", "succeeded"),
        "r3": ("matmul", "queued"),
        "r4": ("matmul", "failed"),  # not seen before: no toast
    }
    assert changes(seen, current) == [
        ("Your Matrix-multiply benchmark run started.", ":material/play_circle:"),
        ("Your Fractal renderer run finished: its result is ready.", ":material/check_circle:"),
    ]
    assert changes(seen, current, quiet_for="r2") == [
        ("Your Matrix-multiply benchmark run started.", ":material/play_circle:"),
    ]


def _page() -> None:
    from core.ui import bootstrap
    from core.ui.run_toasts import toast_run_changes

    toast_run_changes(bootstrap.started_app(), "guest:" + "7" * 32)


def test_a_watched_run_ending_is_toasted_from_the_watcher_without_reading_the_owners_runs(
    apptest_app, monkeypatch
):
    scans = []
    real_scan = run_toasts.run_statuses
    monkeypatch.setattr(
        run_toasts, "run_statuses", lambda *args: scans.append(args) or real_scan(*args)
    )
    at = AppTest.from_function(_page, default_timeout=30).run()  # starts the App
    app = bootstrap.started_app()
    app.groups().pause(ADMIN, "A")  # the run stays queued
    run_id = app.runs.submit("matmul", {"n": 64}, OWNER)
    at = AppTest.from_function(_page, default_timeout=30).run()
    assert not at.exception and len(scans) == 2 and not at.toast  # first look: no toast
    assert app.runs.cancel(run_id, "someone", OWNER)
    deadline = time.monotonic() + WAIT_S
    while not at.toast:
        if time.monotonic() > deadline:
            pytest.fail("the cancelled run was never toasted")
        app.watcher.wait([run_id], {run_id: app.watcher.view(run_id).shown()}, 1.0)
        at.run()
    assert [t.value for t in at.toast] == ["Your Matrix-multiply benchmark run was cancelled."]
    assert len(scans) == 2, "the owner's runs were read again within RESCAN_EVERY_S"

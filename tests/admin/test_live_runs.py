"""The live view's list of runs names each run's group, state, owner, host and process."""

from __future__ import annotations

import os
import socket
import threading

from core.limiter import GroupConfig, Limiter
from core.ui.admin.live import runs_table


def test_runs_table_lists_running_and_waiting_runs_with_host_and_process():
    limiter = Limiter()
    limiter.configure(GroupConfig(name="A", limit=1))
    holding = threading.Event()
    done = threading.Event()
    queued = threading.Event()

    def hold() -> None:
        with limiter.slot("A", owner="alice", task="matmul"):
            holding.set()
            done.wait(10)

    def wait() -> None:
        with limiter.slot("A", owner="bob", task="fractal", on_wait=lambda info: queued.set()):
            pass

    holder = threading.Thread(target=hold)
    waiter = threading.Thread(target=wait)
    holder.start()
    assert holding.wait(5)
    waiter.start()
    assert queued.wait(5)
    try:
        table = runs_table(limiter.snapshot())
    finally:
        done.set()
        holder.join(5)
        waiter.join(5)
    rows = table.to_dict("records")
    assert [(r["Group"], r["State"], r["Owner"], r["Task"]) for r in rows] == [
        ("A", "running", "alice", "matmul"),
        ("A", "waiting", "bob", "fractal"),
    ]
    assert {r["Host"] for r in rows} == {socket.gethostname()}
    assert {r["Process"] for r in rows} == {os.getpid()}


def test_runs_table_is_empty_when_nothing_runs():
    limiter = Limiter()
    limiter.configure(GroupConfig(name="A", limit=1))
    assert runs_table(limiter.snapshot()).empty

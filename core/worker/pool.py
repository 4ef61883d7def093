"""A few warm worker processes, so a run starts without importing torch first.

Each child is a fresh interpreter, ``python -m core.worker.child``, not a
``multiprocessing`` child: the spawn method re-imports the parent's
``__main__`` in every child, and in a Streamlit server ``__main__`` is the
page script that was running (Streamlit runs scripts as ``__main__``), which
would start a whole App in the child; a fork of a threaded server could
inherit held locks. The parent and child share a socket pair (pickled
messages, ``multiprocessing.connection.Connection``) and one small shared
memory page holding the stop flag and the fencing deadline (core/worker/shared.py).

Each child serves one run at a time. The pool keeps ``warm`` idle children
ready; taking the last of them asks a background thread to start a
replacement. A child handed back stays idle and is the next one taken (last
in, first out), so back-to-back runs reuse the same warm child and never
wait for, or pay for, a new interpreter importing torch; children beyond
``warm`` that stayed idle for ``spare_idle_s`` are closed. A child that
misbehaved (killed for not stopping, or died) is never handed out again.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from core.worker.shared import SharedState

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]

START_TIMEOUT_S = 300.0
"""How long a new child may take to import torch and say it is ready (a loaded host is slow)."""

SPARE_IDLE_S = 60.0
"""How long a child beyond the ``warm`` ones stays idle before it is closed: the children a
burst of runs needed serve the next burst, and a quiet server goes back to ``warm``."""


class Child:
    """One worker process and what it shares with its parent: a connection and ``SharedState``."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.shared = SharedState.create()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])]
        )
        command = [
            sys.executable,
            "-m",
            "core.worker.child",
            str(theirs.fileno()),
            str(self.shared.fileno()),
        ]
        self.process = subprocess.Popen(
            command, pass_fds=(theirs.fileno(), self.shared.fileno()), cwd=ROOT, env=environment
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.pid = self.process.pid

    @property
    def stop(self):
        return self.shared.stop

    @property
    def deadline(self):
        return self.shared.deadline

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def wait_ready(self) -> bool:
        try:
            if not self.conn.poll(START_TIMEOUT_S):
                return False
            message = self.conn.recv()
        except (EOFError, OSError):
            return False
        return message[0] == "ready"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            log.error("worker process %d did not die after SIGKILL", self.pid)
        self.conn.close()
        self.shared.close()

    def close(self, timeout_s: float) -> None:
        """Ask an idle child to exit; kill it if it does not within ``timeout_s``."""
        try:
            self.conn.send(None)
            self.process.wait(timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class ChildPool:
    """Hands out warm children, keeps ``warm`` of them ready and closes long-idle spares."""

    def __init__(self, warm: int = 1, spare_idle_s: float = SPARE_IDLE_S) -> None:
        self._warm = warm
        self._spare_idle_s = spare_idle_s
        self._idle: list[tuple[Child, float]] = []
        """Idle children with when they were handed back, most recent last."""
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._keep_warm, name="taskgate-pool", daemon=True)
        self._thread.start()
        self._wanted.set()

    def take(self) -> Child:
        """A ready child: the one handed back last, or (if none is idle) a new one started now."""
        while True:
            with self._lock:
                child = self._idle.pop()[0] if self._idle else None
                short = len(self._idle) < self._warm
            if short:
                self._wanted.set()
            if child is None:
                child = self._start()
                if child is None:
                    raise RuntimeError("A worker process could not be started; see the log.")
                return child
            if child.alive:
                return child
            child.kill()

    def give_back(self, child: Child) -> None:
        with self._lock:
            if not self._closed and child.alive:
                self._idle.append((child, time.monotonic()))
                return
        child.close(1.0)

    def discard(self, child: Child) -> None:
        child.kill()
        self._wanted.set()

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self, timeout_s: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        self._wanted.set()
        for child, _ in idle:
            child.close(timeout_s)
        self._thread.join(timeout_s)

    def _start(self) -> Child | None:
        child = Child()
        if child.wait_ready():
            return child
        log.error("a worker process did not start (exit code %s)", child.exitcode)
        child.kill()
        return None

    def _retire_spares(self) -> None:
        """Close the children beyond ``warm`` that have been idle for ``spare_idle_s``."""
        cutoff = time.monotonic() - self._spare_idle_s
        with self._lock:
            retired = []
            while len(self._idle) > self._warm and self._idle[0][1] < cutoff:
                retired.append(self._idle.pop(0)[0])
        for child in retired:
            child.close(1.0)

    def _keep_warm(self) -> None:
        while True:
            self._wanted.wait(self._spare_idle_s / 2)
            self._wanted.clear()
            self._retire_spares()
            while True:
                with self._lock:
                    if self._closed or len(self._idle) >= self._warm:
                        break
                child = self._start()
                if child is None:
                    break
                with self._lock:
                    if self._closed:
                        closing = child
                    else:
                        self._idle.insert(0, (child, time.monotonic()))
                        closing = None
                if closing is not None:
                    closing.close(1.0)
                    return
            if self._closed:
                return

"""A few warm worker processes, so a run starts without importing torch first.

Children are started with the ``spawn`` method (a fork of a threaded web
server could inherit held locks) and each serves one run at a time. The
pool keeps ``warm`` idle children ready; taking one asks a background
thread to start a replacement. A child that misbehaved (killed for not
stopping, or died) is never handed out again.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from typing import Any

from core.worker.child import serve

log = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0
"""How long a new child may take to import torch and say it is ready (a loaded host is slow)."""

_context = multiprocessing.get_context("spawn")


class Child:
    """One worker process and the three things shared with it: a pipe, a stop flag, a deadline."""

    def __init__(self, task_modules: tuple[str, ...]) -> None:
        self.conn, child_conn = _context.Pipe()
        self.stop = _context.Event()
        self.deadline = _context.RawValue("d", 0.0)
        self.process = _context.Process(
            target=serve,
            args=(child_conn, self.stop, self.deadline, task_modules),
            name="taskgate-task",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self.pid: int | None = None

    def wait_ready(self) -> bool:
        if not self.conn.poll(START_TIMEOUT_S):
            return False
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            return False
        self.pid = message[1]
        return message[0] == "ready"

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def close(self, timeout_s: float) -> None:
        """Ask an idle child to exit; kill it if it does not within ``timeout_s``."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout_s)
        self.kill()


class ChildPool:
    """Hands out warm children and keeps ``warm`` of them ready."""

    def __init__(self, task_modules: tuple[str, ...] = (), warm: int = 1) -> None:
        self._task_modules = task_modules
        self._warm = warm
        self._idle: list[Child] = []
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._keep_warm, name="taskgate-pool", daemon=True)
        self._thread.start()
        self._wanted.set()

    def take(self) -> Child:
        """A ready child: an idle one, or (if none) a new one started now."""
        while True:
            with self._lock:
                child = self._idle.pop() if self._idle else None
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
            if not self._closed and child.alive and len(self._idle) < self._warm:
                self._idle.append(child)
                return
        child.close(1.0)

    def discard(self, child: Child) -> None:
        child.kill()
        self._wanted.set()

    def close(self, timeout_s: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        self._wanted.set()
        for child in idle:
            child.close(timeout_s)
        self._thread.join(timeout_s)

    def _start(self) -> Child | None:
        child = Child(self._task_modules)
        if child.wait_ready():
            return child
        log.error("a worker process did not start (exit code %s)", child.process.exitcode)
        child.kill()
        return None

    def _keep_warm(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
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
                        self._idle.append(child)
                        closing = None
                if closing is not None:
                    closing.close(1.0)
                    return
            if self._closed:
                return

"""Worker processes driven line by line, every wait bounded, none left running."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


class Worker:
    """``python -m tests.shared_limiter.worker ARGS`` with ``env`` added to the environment."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.shared_limiter.worker", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def expect(self, prefix: str, timeout: float = START_TIMEOUT_S) -> str:
        """The next line starting with ``prefix``; fail with the worker's output otherwise."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(self._report(f"no {prefix!r} within {timeout} s")) from None
            if line is None:
                raise AssertionError(self._report(f"exited before {prefix!r}"))
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        """SIGKILL: no ``finally``, no atexit, no goodbye to the database."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def finish(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(self._report(f"still running after {timeout} s")) from None

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _report(self, what: str) -> str:
        return f"worker {self.pid} {what}; its output:\n{''.join(self.output)}"


@contextmanager
def workers(*specs: tuple[str, ...], env: dict[str, str]) -> Iterator[list[Worker]]:
    """Start one worker per spec; kill whatever is still running on the way out."""
    started = [Worker(*spec, env=env) for spec in specs]
    try:
        yield started
    finally:
        for worker in started:
            worker.kill()

"""Real ``python -m core.worker`` processes, one per simulated host, and a web side without one.

Each worker gets its own ``--host`` label (as a container or a second GPU
box would), a short lease so a killed worker's run is reclaimed quickly, and
its own process group so a test can SIGKILL it and its task processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.app import App, start_app
from core.settings import Settings
from tests.worker.support import TEST_TASKS

ROOT = Path(__file__).resolve().parents[2]
TTL_S = 6.0
"""Long enough that a loaded machine does not fence healthy runs (see durable's tests)."""


def worker_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TASKGATE_DATABASE_URL": url,
        "TASKGATE_LEASE_TTL_S": str(TTL_S),
        "TASKGATE_TASK_MODULES": TEST_TASKS,
        "TASKGATE_CANCEL_GRACE_S": "1",
    }


def web_app(url: str) -> App:
    """The web server's side (TASKGATE_WORKERS=external): submits, watches, sweeps; runs nothing."""
    return start_app(
        Settings(
            database_url=url,
            workers="external",
            lease_ttl_s=TTL_S,
            admin_password="letmein-letmein",
        )
    )


@contextmanager
def worker(url: str, log_dir: Path, host: str, slots: int = 1) -> Iterator[subprocess.Popen]:
    """A ``python -m core.worker --host HOST`` ready to claim runs (its first line printed)."""
    log_path = log_dir / f"worker-{host}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.worker", "--host", host, "--slots", str(slots)],
            cwd=ROOT, env=worker_env(url), stdout=subprocess.PIPE, stderr=log, text=True,
            start_new_session=True,
        )  # fmt: skip
    try:
        line = process.stdout.readline()  # bounded: the worker prints it or exits
        assert f"on {host} " in line and "serving every group" in line, log_path.read_text()
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()

"""A real ``streamlit run Home.py`` server on a free port, for browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 300
"""The server answers once its lifespan started Taskgate (torch, migrations): 80 s were
seen at a load average of 16 on 2 cores. Generous, not a bound."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def stopped_cleanly(returncode: int, stop_signal: signal.Signals = signal.SIGTERM) -> bool:
    """Uvicorn re-raises the signal it handled once it has shut down: the exit says which.

    A re-raised SIGINT is a KeyboardInterrupt, which Streamlit's CLI (click) turns
    into "Aborted!" and exit status 1, as for any Ctrl+C.
    """
    aborted = (1,) if stop_signal == signal.SIGINT else ()
    return returncode in (0, -stop_signal, 128 + stop_signal, *aborted)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


@contextmanager
def streamlit_server(
    log_dir: Path,
    env: dict[str, str],
    *,
    script: str = "Home.py",
    port: int | None = None,
    options: Sequence[str] = (),
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Iterator[Server]:
    """Start the app with ``env`` added to the environment; stop it with SIGTERM afterwards.

    ``script`` is the entrypoint (relative to the repository root; benchmarks use
    another); ``port`` is for a test that must know the address before the server
    starts (a sign-in redirect URI); ``options`` are more ``--section.option value``
    arguments, e.g. ``--secrets.files`` for a test's own secrets.toml; ``stop_signal``
    is SIGINT for a Ctrl+C.
    """
    port = port or free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *options,
    ]
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{server.log()}")
            time.sleep(0.2)  # polling a process we do not control, not synchronising threads
        yield server
    finally:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

"""``python -m core.worker``: an executing process of its own, for another device or host.

    python -m core.worker [--groups A,B] [--device cuda:1] [--slots N] [--host NAME]

It serves the same database as the web server (TASKGATE_DATABASE_URL: a
SQLite file for workers on the same host, PostgreSQL for other hosts), whose
queue and limits it shares: its admitter is granted runs under the same
rules. It runs at most ``--slots`` runs at a time (default 1), of the named
groups only if ``--groups`` is given, on ``--device`` (default: the fastest
device here); a web server with TASKGATE_WORKERS=external runs none itself. ``--host``
names it in the admin's view and on its runs (default: this machine's host
name; useful for containers, whose host names are random). SIGTERM or
Ctrl+C stops it cleanly: running runs are recorded lost, granted runs that
had not started go back to the queue in their place.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from core.settings import SettingsError, load_settings


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.worker",
        description="Run Taskgate's tasks in a process of its own, on another device or host.",
    )
    parser.add_argument("--groups", help="comma-separated groups to serve (default: all)")
    parser.add_argument("--device", help="torch device to run on, e.g. cuda:1 (default: fastest)")
    parser.add_argument("--slots", type=int, default=1, help="runs claimed at once (default 1)")
    parser.add_argument("--host", help="the name shown for this worker (default: the host name)")
    return parser.parse_args(argv)


def _fail(sentence: str) -> None:
    print(f"python -m core.worker: {sentence}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str]) -> None:
    arguments = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        _fail(str(error))
    if arguments.host is not None and not 1 <= len(arguments.host.strip()) <= 200:
        _fail("--host must be a name of 1 to 200 characters.")
    if not 1 <= arguments.slots <= 1024:
        _fail(f"--slots must be a whole number from 1 to 1024, not {arguments.slots}.")
    import torch

    from core.app import start_admitter
    from core.runs import sql
    from core.runs.database import RunDatabase
    from db.migrate import upgrade
    from db.models import group_name_key

    device = arguments.device
    if device is not None:
        try:
            torch.device(device)
        except (RuntimeError, ValueError):
            _fail(f"--device must name a torch device such as cpu or cuda:1, not {device!r}.")
    upgrade(settings.database_url)
    db = RunDatabase(settings.database_url)
    groups = None
    if arguments.groups:
        groups = [name.strip() for name in arguments.groups.split(",") if name.strip()]
        with db.read() as connection:
            known = sql.group_configs(connection)
        missing = [name for name in groups if group_name_key(name) not in known]
        if missing:
            _fail(f"there is no group called {', '.join(missing)}; create it on the admin page.")
    admitter = start_admitter(
        settings,
        db,
        device=device,
        groups=groups,
        slots=arguments.slots,
        host=arguments.host.strip() if arguments.host else None,
    )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    served = ", ".join(groups) if groups else "every group"
    print(
        f"worker {admitter.worker_id} on {admitter.host} (pid {os.getpid()}) serving "
        f"{served} with "
        f"{arguments.slots} slot(s); Ctrl+C stops it",
        flush=True,
    )
    stopping.wait()
    admitter.stop()
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])

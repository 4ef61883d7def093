"""``python -m core.worker``: a dispatcher of its own, for another device or another host.

    python -m core.worker [--groups A,B] [--device cuda:1] [--slots N] [--host NAME]

It serves the same database as the web server (TASKGATE_DATABASE_URL) and
shares its limits through the shared limiter, so it needs
TASKGATE_LIMITER=shared (as does a web server with TASKGATE_WORKERS=external,
which then runs no tasks itself). It claims at most ``--slots`` runs at a
time (default 1), of the named groups only if ``--groups`` is given, and
runs them on ``--device`` (default: the fastest device here). ``--host``
names it in the admin's view and on its runs (default: this machine's host
name; useful for containers, whose host names are random). SIGTERM or
Ctrl+C stops it cleanly: running runs are recorded lost, claimed queued
runs go back to the queue in their place.
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
        prog="python -m core.worker", description=__doc__.split("\n")[0]
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
    if settings.limiter != "shared":
        _fail(
            "a separate worker shares limits with the web server through the database, so it "
            "needs TASKGATE_LIMITER=shared (for the web server too)."
        )
    if arguments.host is not None and not 1 <= len(arguments.host.strip()) <= 200:
        _fail("--host must be a name of 1 to 200 characters.")
    if not 1 <= arguments.slots <= 1024:
        _fail(f"--slots must be a whole number from 1 to 1024, not {arguments.slots}.")
    import torch

    from core.app import build_limiter, start_dispatcher
    from core.shared_limiter.database import LimiterDatabase
    from core.worker import store
    from db.migrate import upgrade

    device = arguments.device
    if device is not None:
        try:
            torch.device(device)
        except (RuntimeError, ValueError):
            _fail(f"--device must name a torch device such as cpu or cuda:1, not {device!r}.")
    upgrade(settings.database_url)
    db = LimiterDatabase(settings.database_url)
    groups = None
    if arguments.groups:
        groups = [name.strip() for name in arguments.groups.split(",") if name.strip()]
        with db.read() as connection:
            missing = [name for name in groups if store.group_rules(connection, name) is None]
        if missing:
            _fail(f"there is no group called {', '.join(missing)}; create it on the admin page.")
    limiter = build_limiter(settings, None)
    dispatcher, pool = start_dispatcher(
        settings,
        db,
        limiter,
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
        f"worker {dispatcher.worker_id} on {dispatcher.host} (pid {os.getpid()}) serving "
        f"{served} with "
        f"{arguments.slots} slot(s); Ctrl+C stops it",
        flush=True,
    )
    stopping.wait()
    dispatcher.stop()
    pool.close()
    limiter.close()
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])

"""A Taskgate-like process for the multi-process tests: ``python -m tests.shared_limiter.worker``.

It builds its SharedLimiter from the same settings the app reads
(TASKGATE_DATABASE_URL, TASKGATE_LEASE_TTL_S) and talks to the test through
lines on stdout and stdin, so the test can wait for each step with a bound.

    stress GROUP REQUESTS THREADS SEED OUT   wait for "go", run REQUESTS short tasks
                                             on THREADS threads, write one JSON line
                                             per task to OUT, print "done"
    hold GROUP COUNT                         hold COUNT slots (recorded in task_run),
                                             print "holding RUN_ID...", then hang
    wait GROUP                               ask for one slot, print "started EPOCH"
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time

from sqlalchemy import select

from core.limiter import RunEvents
from core.runs import RunRecorder
from core.settings import load_settings
from core.shared_limiter import SharedLimiter
from db.engine import get_engine
from db.models import LimiterTicket

TICKETS = LimiterTicket.__table__


def say(line: str) -> None:
    print(line, flush=True)


def open_limiter(events: RunEvents | None = None) -> SharedLimiter:
    settings = load_settings(os.environ)
    return SharedLimiter(settings.database_url, events=events, lease_ttl_s=settings.lease_ttl_s)


def stress(group: str, requests: int, threads: int, seed: int, out: str) -> None:
    """Run short tasks; record each one's ticket, grant time and the span it held the slot."""
    limiter = open_limiter()
    engine = get_engine(load_settings(os.environ).database_url)
    records: list[dict] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        for _ in range(requests // threads + (index < requests % threads)):
            with limiter.slot(group, owner=f"p{os.getpid()}t{index}") as run:
                began = time.time()
                time.sleep(rng.uniform(0.02, 0.06))
                ended = time.time()
                with engine.connect() as connection:
                    ticket, granted_at = connection.execute(
                        select(TICKETS.c.id, TICKETS.c.granted_at).where(TICKETS.c.run_id == run.id)
                    ).one()
            with lock:
                records.append(
                    {
                        "pid": os.getpid(),
                        "ticket": ticket,
                        "granted_at": granted_at.timestamp(),
                        "began": began,
                        "ended": ended,
                    }
                )

    say("ready")
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected go")
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with open(out, "w") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    limiter.close()
    say("done")


def hold(group: str, count: int) -> None:
    """Hold ``count`` slots for ever (until the test kills this process)."""
    recorder = RunRecorder(get_engine(load_settings(os.environ).database_url))
    limiter = open_limiter(events=recorder)
    run_ids: list[str] = []
    started = threading.Barrier(count + 1, timeout=30)

    def occupy() -> None:
        with limiter.slot(group, owner=f"holder{os.getpid()}") as run:
            run_ids.append(run.id)
            started.wait()
            threading.Event().wait()

    for _ in range(count):
        threading.Thread(target=occupy, daemon=True).start()
    started.wait()
    recorder.flush()
    say("holding " + " ".join(run_ids))
    threading.Event().wait()


def wait(group: str) -> None:
    limiter = open_limiter()
    with limiter.slot(group, owner=f"waiter{os.getpid()}"):
        say(f"started {time.time()!r}")
    limiter.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "stress":
        stress(args[0], int(args[1]), int(args[2]), int(args[3]), args[4])
    elif command == "hold":
        hold(args[0], int(args[1]))
    elif command == "wait":
        wait(args[0])
    else:
        raise SystemExit(f"unknown command {command!r}")

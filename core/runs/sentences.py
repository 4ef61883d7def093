"""The sentences a run's owner reads when it ends without a result: one place for the wording."""

from __future__ import annotations

MAX_ERROR_CHARS = 300
"""Long enough for any useful first line of an exception, short enough to read."""

CANCELLED_WHILE_WAITING = "Cancelled while it waited for a slot."
CANCELLED_WHILE_RUNNING = "Cancelled while it ran; its slot went to the next in line."
SERVER_STOPPED = "The server stopped while it ran; Run again."
LEASE_LOST = "The worker running it stopped; Run again."
FENCED = "The worker running it stopped answering for longer than its lease; Run again."


def timed_out_sentence(cap_s: float | None) -> str:
    """Why a run that hit its group's run-time cap was stopped, naming the cap."""
    return (
        f"Stopped after {cap_s:g} s: runs in this group may take at most {cap_s:g} s "
        "(the group's run-time cap); try smaller settings, or ask an admin."
    )


NO_SUCH_TASK = "This server does not know the task {task!r}, so it cannot run it."


def failure_sentence(error: BaseException) -> str:
    """E.g. "The task failed with RuntimeError: CUDA error: out of memory." — no traceback.

    Only the first line of the message is kept: tracebacks and library
    diagnostics that follow it help an admin reading the log, not the user.
    """
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(first_line) > MAX_ERROR_CHARS:
        first_line = first_line[: MAX_ERROR_CHARS - 1] + "…"
    name = type(error).__name__
    if not first_line:
        return f"The task failed with {name}."
    ending = "" if first_line.endswith((".", "!", "?", "…")) else "."
    return f"The task failed with {name}: {first_line}{ending}"


def crash_sentence(exitcode: int | None) -> str:
    """Why a run failed when the process running it died under it (segfault, kill, os._exit)."""
    if exitcode is not None and exitcode < 0:
        how = f"was killed by signal {-exitcode}"
    elif exitcode is not None:
        how = f"exited with code {exitcode}"
    else:
        how = "stopped"
    return (
        f"The process running the task {how} before it finished (a crash, or out of memory); "
        "Run again, perhaps with smaller settings."
    )


PAGE_GONE = "The page waiting for this slot went away before it was free (its server stopped)."

"""Many sessions on a real server: Taskgate beside a bare-lock Streamlit app, in one run.

Run with ``.venv/bin/python bench/sessions_bench.py`` (``--help`` for the
knobs); it prints markdown for docs/BENCHMARKS.md.

Sessions are protocol-level tabs (tests/support/streamlit_client.py): each
is a websocket speaking Streamlit's own messages, and ``--check-chromium``
first checks against headless Chromium that a page draws the same elements
and a click sends the same widget id. For each contender a fresh server is
started and measured, in this order:

1. idle, N = 0: server CPU, RSS and threads; a new visitor's Home render
   (from opening the websocket to the first run's ``script_finished``);
   Taskgate only: one signed-in admin on the live view, its fragment's
   interval p50/p95, one fragment run's time, and the CPU it adds;
2. drain: 100 tabs queue a tiny run (matmul, n = 64, one repeat) behind a
   paused slot, in a known order; then the slot is resumed. Drain rate is
   runs finished per second; a FIFO inversion is a pair of runs that
   finished in the other order than they were queued (the slot is 1);
3. N = 50, 200 (``--sessions``): N tabs wait behind the paused slot; the
   same figures as at N = 0; then all N tabs close at once and the time
   until the server has let go of them is taken. Taskgate's runs are durable:
   closing a tab only stops watching, the runs keep their place, so this is
   the time until the server's threads are back to where they were before
   the tabs opened (the sessions and their script threads are gone); the
   queued runs are then cancelled for the next level. The baseline: until
   its script threads are gone, after the slot is resumed, since a thread
   blocked in ``Lock.acquire`` cannot be stopped. (Before durable runs,
   Taskgate's figure was the time until every closed tab's run was recorded
   ``cancelled``.)

Contenders: ``taskgate`` (Home.py as configured), ``taskgate-default-gc``
(the same with Streamlit's ``runner.postScriptGC`` back on, what the
project shipped before) and ``baseline`` (bench/baseline_app.py). With
``--soak SECONDS`` it instead runs Taskgate alone under a steady load and
prints its RSS over time.

The one step to adapt when task pages change is ``queue_run`` (and
``run_finished``): everything else measures through them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from db.engine import dispose_engines, get_engine  # noqa: E402
from tests.support.server import Server, streamlit_server  # noqa: E402
from tests.support.streamlit_client import Tab, value  # noqa: E402

TASK_PAGE = "matmul"
ADMIN_PASSWORD = "bench-admin-password"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WAIT_S = 300.0
FROZEN = "long-lived objects frozen"
"""The line the served app logs once its start-up freeze is done (core/ui/memory.py)."""
QUEUED = ("Waiting for a slot", "you keep your place", "Running in group", "Waited")
"""What a task page says once its run is queued: waiting (the second while the group is
paused), or already running or done when the slot was free."""


# --- the steps a page offers: adapt these when pages change -------------------------------


async def queue_run(tab: Tab) -> None:
    """Ask for one tiny run from the task page open in ``tab``; return once it is in the queue.

    A Run click submits a durable run and the page watches it (saying it
    waits: ``QUEUED``), then shows its outcome. Returning only once the page
    says it waits keeps the queue in the order of the calls.
    """
    tiny = [value(tab.widget("Matrix size"), 64), value(tab.widget("Repeats"), 1)]
    runs = tab.full_runs_started
    tab.click("Run", also=tiny)
    await tab.wait_until(lambda: tab.full_runs_started > runs, WAIT_S)
    await tab.wait_until(lambda: any(mark in line for line in tab.texts for mark in QUEUED), WAIT_S)


async def run_finished(tab: Tab) -> float:
    """When the run ``queue_run`` asked for had finished, as the page shows it."""
    await tab.wait_for_text("Waited", WAIT_S)
    return time.monotonic()


async def sign_in_admin(tab: Tab) -> None:
    tab.click("Sign in", also=[value(tab.widget("Admin password"), ADMIN_PASSWORD)])
    await tab.wait_until(lambda: len(tab.fragment_runs()) >= 2, WAIT_S)


# --- the process under test -------------------------------------------------------------


@dataclass
class Usage:
    cpu_percent: float
    rss_mib: float
    threads: int


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


def rss_mib(pid: int) -> float:
    return _status(pid, "VmRSS") / 1024


def threads(pid: int) -> int:
    return _status(pid, "Threads")


async def usage(pid: int, seconds: float) -> Usage:
    """The server's CPU (percent of one core) over ``seconds``, then its RSS and threads."""
    cpu, began = _cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu_percent = 100 * (_cpu_seconds(pid) - cpu) / (time.monotonic() - began)
    return Usage(cpu_percent, rss_mib(pid), threads(pid))


# --- contenders ---------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    script: str
    options: tuple[str, ...] = ()
    taskgate: bool = True


CONTENDERS = {
    "taskgate": Contender("Taskgate", "Home.py"),
    "taskgate-default-gc": Contender(
        "Taskgate, postScriptGC on", "Home.py", ("--runner.postScriptGC", "true")
    ),
    "baseline": Contender("bare Lock app", "bench/baseline_app.py", taskgate=False),
}


class Slot:
    """Pausing and resuming the one slot the task page's runs take, and what is recorded."""

    def __init__(
        self, contender: Contender, server_url: str, database_url: str, pause_file: Path
    ) -> None:
        self._taskgate = contender.taskgate
        self._server_url = server_url
        self._url = database_url
        self._pause_file = pause_file

    async def pause(self, paused: bool) -> None:
        """Pause or resume the slot, and return once the server applies it."""
        if not self._taskgate:
            if paused:
                self._pause_file.touch()
            else:
                self._pause_file.unlink(missing_ok=True)
            return
        self._edit_by_hand(paused)
        # The group sync applies a hand edit within a second; Home shows when it has.
        while True:
            tab = Tab(self._server_url, follow_auto_reruns=False)
            await tab.open()
            await tab.close()
            if any("paused" in line for line in tab.texts) == paused:
                return
            await asyncio.sleep(0.1)

    async def hand_edit_applies(self, limit: int) -> float:
        """Seconds from a hand edit of group B's limit until a new visitor's Home shows it."""
        with get_engine(self._url).begin() as connection:
            connection.execute(
                text(
                    'UPDATE concurrency_group SET "limit" = :limit, version = version + 1 '
                    "WHERE name = 'B'"
                ),
                {"limit": limit},
            )
        edited = time.monotonic()
        while True:
            tab = Tab(self._server_url, follow_auto_reruns=False)
            await tab.open()
            await tab.close()
            if any(f"of {limit} slots" in line for line in tab.texts):
                return time.monotonic() - edited
            await asyncio.sleep(0.05)

    def _edit_by_hand(self, paused: bool) -> None:
        with get_engine(self._url).begin() as connection:
            connection.execute(
                text(
                    "UPDATE concurrency_group SET paused = :paused, version = version + 1 "
                    "WHERE name = 'A'"
                ),
                {"paused": paused},
            )

    async def start_times(self, tabs: list[Tab]) -> list:
        """When each run started, as the app itself recorded it, in the order they queued.

        Taskgate: ``task_run`` rows in ``enqueued_at`` order (the limiter's own
        arrival order); the baseline writes its start time in its outcome line.
        """
        if not self._taskgate:
            return [float(tab_started(tab)) for tab in tabs]
        # Timestamps as stored: ISO text on SQLite sorts like the times themselves.
        await until(lambda: self.unfinished() == 0 and self._recorded() >= len(tabs))
        with get_engine(self._url).connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT started_at FROM task_run WHERE status = 'succeeded' "
                    "ORDER BY enqueued_at"
                )
            ).scalars()
            return list(rows)

    def _recorded(self) -> int:
        with get_engine(self._url).connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM task_run WHERE status = 'succeeded'")
            ).scalar_one()

    def cancel_queued(self) -> None:
        """Ask every queued run to be cancelled, as their owners could; the dispatcher ends them."""
        with get_engine(self._url).begin() as connection:
            connection.execute(
                text(
                    "UPDATE task_run SET cancel_requested_at = CURRENT_TIMESTAMP, "
                    "cancelled_by = 'bench' WHERE status = 'queued'"
                )
            )

    def unfinished(self) -> int:
        with get_engine(self._url).connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM task_run WHERE status IN ('queued', 'running')")
            ).scalar_one()


@contextmanager
def served(contender: Contender, folder: Path) -> Iterator[tuple[Server, Slot]]:
    database = f"sqlite:///{folder}/bench.db"
    pause_file = folder / "paused"
    env = {
        "TASKGATE_DATABASE_URL": database,
        "TASKGATE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BASELINE_PAUSE_FILE": str(pause_file),
    }
    with streamlit_server(
        folder, env, script=contender.script, options=contender.options
    ) as server:
        yield server, Slot(contender, server.url, database, pause_file)
    dispose_engines()


# --- measurements -------------------------------------------------------------------------


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")
    )


async def home_renders(url: str, visits: int) -> list[float]:
    """Seconds each new visitor waited for Home's first run to finish (one at a time)."""
    times = []
    for _ in range(visits):
        tab = Tab(url, follow_auto_reruns=False)
        began = time.monotonic()
        await tab.open()
        times.append(time.monotonic() - began)
        await tab.close()
    return times


@dataclass
class AdminView:
    intervals: list[float]
    run_times: list[float]
    cpu_added: float


async def admin_view(url: str, pid: int, seconds: float, without: float) -> AdminView:
    tab = Tab(url)
    await tab.open("admin")
    await sign_in_admin(tab)
    start = len(tab.fragment_runs())
    with_admin = await usage(pid, seconds)
    runs = tab.fragment_runs()[start:]
    await tab.close()
    ends = [run.finished_at for run in runs]
    return AdminView(
        [b - a for a, b in zip(ends, ends[1:], strict=False)],
        [run.seconds for run in runs],
        with_admin.cpu_percent - without,
    )


async def open_task_tabs(url: str, count: int) -> list[Tab]:
    tabs = []
    for _ in range(count):
        tab = Tab(url)
        await tab.open(TASK_PAGE)
        tabs.append(tab)
    return tabs


def tab_started(tab: Tab) -> str:
    """The start time the baseline app writes in its outcome line."""
    line = next(line for line in tab.texts if line.startswith("Waited"))
    return line.rsplit("started ", 1)[1]


def inversions(started: list) -> int:
    """Pairs queued in one order that started in the other (``started`` is in queue order)."""
    return sum(
        1
        for i in range(len(started))
        for j in range(i + 1, len(started))
        if started[j] < started[i]
    )


@dataclass
class Drain:
    rate: float
    inversions: int


async def drain(url: str, slot: Slot, count: int) -> Drain:
    await slot.pause(True)
    tabs = await open_task_tabs(url, count)
    for tab in tabs:
        await queue_run(tab)
    waits = [asyncio.ensure_future(run_finished(tab)) for tab in tabs]
    await slot.pause(False)
    finished = await asyncio.gather(*waits)
    started = await slot.start_times(tabs)
    for tab in tabs:
        await tab.close()
    span = max(finished) - min(finished)
    return Drain((count - 1) / span if span > 0 else float("inf"), inversions(started))


@dataclass
class Level:
    sessions: int
    usage: Usage
    home: list[float]
    admin: AdminView | None = None
    drop_s: float | None = None
    hand_edit_s: float | None = None


async def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> float:
    """Seconds until ``condition()`` holds, polled every 10 ms (a process we do not control)."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise TimeoutError("the server did not get there")
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def level(
    server: Server, slot: Slot, contender: Contender, sessions: int, args: argparse.Namespace
) -> Level:
    pid = server.process.pid
    idle_threads = threads(pid)
    tabs: list[Tab] = []
    if sessions:
        await slot.pause(True)
        tabs = await open_task_tabs(server.url, sessions)
        for tab in tabs:
            await queue_run(tab)
    measured = await usage(pid, args.window)
    home = await home_renders(
        server.url, args.home_visits if sessions < 200 else args.home_visits_200
    )
    admin = None
    if contender.taskgate:
        admin = await admin_view(server.url, pid, args.admin_window, measured.cpu_percent)
    result = Level(sessions, measured, home, admin)
    if contender.taskgate:
        result.hand_edit_s = await slot.hand_edit_applies(limit=sessions + 2)
    if sessions:
        closed = time.monotonic()
        await asyncio.gather(*(tab.close() for tab in tabs))
        if not contender.taskgate:
            await slot.pause(False)  # a blocked acquire cannot be stopped: let the queue run out
        await until(lambda: threads(pid) <= idle_threads)
        result.drop_s = time.monotonic() - closed
        if contender.taskgate:  # durable runs outlive their tabs: end them for the next level
            slot.cancel_queued()
            await until(lambda: slot.unfinished() == 0)
        await slot.pause(False)
    return result


@dataclass
class Report:
    contender: Contender
    levels: list[Level] = field(default_factory=list)
    drain: Drain | None = None


async def measure(contender: Contender, args: argparse.Namespace) -> Report:
    report = Report(contender)
    with tempfile.TemporaryDirectory() as folder, served(contender, Path(folder)) as (server, slot):
        await home_renders(server.url, 1)  # starts the App; the first visitor pays for it
        if contender.taskgate:  # the freeze after start-up runs on a thread: wait for it
            await until(lambda: FROZEN in server.log())
        report.levels.append(await level(server, slot, contender, 0, args))
        report.drain = await drain(server.url, slot, args.drain)
        for sessions in args.sessions:
            if sessions:
                report.levels.append(await level(server, slot, contender, sessions, args))
    return report


# --- the soak -----------------------------------------------------------------------------


async def soak(args: argparse.Namespace) -> None:
    """Home watchers, an admin and a steady trickle of tiny runs; RSS every ``--soak-every`` s."""
    contender = CONTENDERS["taskgate"]
    with tempfile.TemporaryDirectory() as folder, served(contender, Path(folder)) as (server, _):
        pid = server.process.pid
        watchers = [Tab(server.url) for _ in range(args.soak_sessions)]
        for tab in watchers:
            await tab.open()
        admin = Tab(server.url)
        await admin.open("admin")
        await sign_in_admin(admin)
        runner = Tab(server.url)
        await runner.open(TASK_PAGE)
        began, runs = time.monotonic(), 0
        print("| minute | RSS (MiB) | threads | runs so far |\n|---:|---:|---:|---:|")
        next_report = began
        while time.monotonic() - began < args.soak:
            await queue_run(runner)
            await run_finished(runner)
            runs += 1
            if time.monotonic() >= next_report:
                minute = (time.monotonic() - began) / 60
                print(
                    f"| {minute:.1f} | {rss_mib(pid):.0f} | {threads(pid)} | {runs} |", flush=True
                )
                next_report += args.soak_every
        for tab in [*watchers, admin, runner]:
            await tab.close()


# --- checking the protocol client against Chromium ----------------------------------------


async def protocol_view(url: str, page: str) -> tuple[list[str], str]:
    tab = Tab(url, follow_auto_reruns=False)
    run = await tab.open(page)
    run_id = tab.widget("Run").id if page == TASK_PAGE else ""
    await tab.close()
    return run.elements, run_id


def chromium_view(url: str, page: str) -> tuple[list[str], str]:
    """The elements of the page's first full run and the Run button's id, as Chromium got them."""
    from playwright.sync_api import sync_playwright
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    received: list[bytes] = []
    sent: list[bytes] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser_page = browser.new_page()
        browser_page.on(
            "websocket",
            lambda socket: (
                socket.on("framereceived", lambda frame: received.append(frame)),
                socket.on("framesent", lambda frame: sent.append(frame)),
            ),
        )
        browser_page.goto(f"{url}/{page}")
        browser_page.locator(
            '[data-testid="stApp"][data-test-script-state="notRunning"]'
        ).wait_for()
        if page == TASK_PAGE:
            browser_page.get_by_role("button", name="Run", exact=True).click()
            browser_page.get_by_text("Waited").wait_for()
        browser.close()
    elements: list[str] = []
    for data in received:
        if isinstance(data, str):
            continue
        message = ForwardMsg()
        message.ParseFromString(data)
        kind = message.WhichOneof("type")
        if kind == "script_finished":
            break
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            elements.append(message.delta.new_element.WhichOneof("type"))
    clicked = ""
    for data in sent:
        message = BackMsg()
        message.ParseFromString(data if isinstance(data, bytes) else data.encode())
        for widget in message.rerun_script.widget_states.widgets:
            if widget.WhichOneof("value") == "trigger_value":
                clicked = widget.id
    return elements, clicked


async def check_chromium(folder: Path) -> list[str]:
    lines = []
    with served(CONTENDERS["taskgate"], folder) as (server, _):
        await home_renders(server.url, 1)
        for page in ("", TASK_PAGE):
            ours, our_id = await protocol_view(server.url, page)
            theirs, their_id = await asyncio.to_thread(chromium_view, server.url, page)
            same = "same" if ours == theirs else f"DIFFERENT: {ours} vs {theirs}"
            line = (
                f"- /{page}: {len(ours)} elements in the first run, Chromium {len(theirs)}: {same}"
            )
            if page == TASK_PAGE:
                line += f"; Run button id {'matches' if our_id == their_id else 'DIFFERS'}"
            lines.append(line)
    return lines


# --- printing -----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def table(reports: list[Report]) -> str:
    head = "| | " + " | ".join(report.contender.name for report in reports) + " |"
    rows = [head, "|---|" + "---:|" * len(reports)]

    def row(label: str, cell: Callable[[Report], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(report) for report in reports) + " |")

    def at(report: Report, sessions: int) -> Level | None:
        return next((lv for lv in report.levels if lv.sessions == sessions), None)

    levels = sorted({lv.sessions for report in reports for lv in report.levels})
    for n in levels:
        row(
            f"N = {n}: server CPU / RSS / threads",
            lambda r, n=n: (
                f"{at(r, n).usage.cpu_percent:.1f} % / {at(r, n).usage.rss_mib:.0f} MiB / "
                f"{at(r, n).usage.threads}"
                if at(r, n)
                else "-"
            ),
        )
    for n in levels:
        row(
            f"N = {n}: new visitor's Home render p50 (max; visits)",
            lambda r, n=n: (
                f"{ms(p(at(r, n).home, 0.5))} ({ms(max(at(r, n).home))}; {len(at(r, n).home)})"
                if at(r, n)
                else "-"
            ),
        )
    for n in levels:
        row(
            f"N = {n}: admin live view interval p50 / p95",
            lambda r, n=n: (
                f"{ms(p(at(r, n).admin.intervals, 0.5))} / {ms(p(at(r, n).admin.intervals, 0.95))}"
                if at(r, n) and at(r, n).admin
                else "-"
            ),
        )
        row(
            f"N = {n}: one admin fragment run p50; CPU the admin adds (% of a core)",
            lambda r, n=n: (
                f"{ms(p(at(r, n).admin.run_times, 0.5))}; {at(r, n).admin.cpu_added:+.1f} %"
                if at(r, n) and at(r, n).admin
                else "-"
            ),
        )
    for n in levels:
        row(
            f"N = {n}: a hand edit in the database until Home shows it",
            lambda r, n=n: (
                f"{at(r, n).hand_edit_s:.2f} s" if at(r, n) and at(r, n).hand_edit_s else "-"
            ),
        )
    row("drain of tiny runs: runs/s", lambda r: f"{r.drain.rate:.1f}")
    row("drain: FIFO inversions", lambda r: str(r.drain.inversions))
    for n in levels:
        if n:
            row(
                f"N = {n} tabs closed at once: until the server let go of them",
                lambda r, n=n: f"{at(r, n).drop_s:.2f} s" if at(r, n) else "-",
            )
    return "\n".join(rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="0,50,200", help="waiting sessions per level")
    parser.add_argument("--contenders", default="taskgate,baseline", help=",".join(CONTENDERS))
    parser.add_argument("--drain", type=int, default=100, help="tiny runs to drain")
    parser.add_argument("--home-visits", type=int, default=10, help="Home visits per level")
    parser.add_argument("--home-visits-200", type=int, default=5, help="...at N >= 200")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of CPU sampling")
    parser.add_argument("--admin-window", type=float, default=10.0, help="seconds of admin view")
    parser.add_argument("--check-chromium", action="store_true", help="compare with Chromium")
    parser.add_argument("--soak", type=float, default=0.0, help="soak for this many seconds")
    parser.add_argument("--soak-sessions", type=int, default=50, help="Home watchers in the soak")
    parser.add_argument("--soak-every", type=float, default=60.0, help="seconds between RSS lines")
    args = parser.parse_args()
    args.sessions = [int(n) for n in args.sessions.split(",")]
    args.contenders = [CONTENDERS[name] for name in args.contenders.split(",")]
    return args


async def main() -> None:
    args = parse_args()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the start; sessions {args.sessions}, drain {args.drain}\n"
    )
    if args.soak:
        await soak(args)
        return
    if args.check_chromium:
        with tempfile.TemporaryDirectory() as folder:
            for line in await check_chromium(Path(folder)):
                print(line)
        print()
    reports = []
    for contender in args.contenders:
        began = time.monotonic()
        reports.append(await measure(contender, args))
        print(f"({contender.name} measured in {time.monotonic() - began:.0f} s)", file=sys.stderr)
    print(table(reports))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    asyncio.run(main())

"""The served app under load: its collection policy, its background jobs, its stop.

Each test starts a real ``streamlit run Home.py`` and drives it with
protocol-level tabs (tests/support/streamlit_client.py), which need no
browser, so fifty sessions cost one event loop.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from db.engine import dispose_engines, get_engine
from db.models import OccupancySample
from tests.support.server import stopped_cleanly, streamlit_server
from tests.support.streamlit_client import FRAGMENT_RUN, Tab, value

SESSIONS = 50
APPLY_TIMEOUT_S = 30.0
"""Generous: the README promises about a second; this only guards against a hang."""
STOPS = 5
FREEZE_TIMEOUT_S = 120.0
WATCHERS = 10
LET_GO_TIMEOUT_S = 20.0
"""Generous, yet far under the 300 s a watching page blocks at most (``LONGEST_WAIT_S``):
only the closed tab's own stop request, passed on by the stop sentry, ends its thread in time."""

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(autouse=True)
def _dispose_engines():
    yield
    dispose_engines()


def _frozen_objects(log: str) -> int | None:
    found = re.search(r"runner\.postScriptGC=False, (\d+) long-lived objects frozen", log)
    return int(found.group(1)) if found else None


async def _open_home(url: str) -> Tab:
    tab = Tab(url)
    await tab.open()
    return tab


def test_the_served_app_runs_without_streamlits_post_run_collection(server_env, tmp_path):
    with streamlit_server(tmp_path, server_env) as server:

        async def visit() -> None:
            tab = await _open_home(server.url)
            await tab.close()

        asyncio.run(visit())
        # The served process writes the line itself, from Streamlit's config as
        # it is in force there and from gc's own count, once the freeze is done
        # (on a thread of its own, after start-up).
        deadline = time.monotonic() + FREEZE_TIMEOUT_S
        while _frozen_objects(server.log()) is None and time.monotonic() < deadline:
            time.sleep(0.2)  # polling a process we do not control
        log = server.log()
    frozen = _frozen_objects(log)
    assert frozen is not None, log
    assert frozen > 100_000, "torch, pandas and plotly alone are several hundred thousand"
    assert "cyclic GC enabled=True" in log


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def _pause(database: str, paused: bool, group: str | None = None) -> None:
    """What the admin's pause and resume write (every group, or ``group``); applied within 1 s."""
    statement = "UPDATE concurrency_group SET paused = :paused, version = version + 1"
    if group is not None:
        statement += " WHERE name = :group"
    with get_engine(database).begin() as connection:
        connection.execute(text(statement), {"paused": paused, "group": group})


def test_closed_tabs_watching_queued_runs_let_go_of_their_script_threads(server_env, tmp_path):
    """Ten tabs watch their runs wait in a paused group; all close; the ten page threads end.

    A watching page blocks until something it shows changes, so nothing but
    the stop request of a closed tab wakes it; the runs themselves stay queued.
    """
    database = server_env["TASKGATE_DATABASE_URL"]
    with streamlit_server(tmp_path, server_env) as server:
        pid = server.process.pid

        async def watch_then_close() -> None:
            tabs = [Tab(server.url) for _ in range(WATCHERS)]
            for tab in tabs:
                await tab.open("matmul")  # the first visit also migrates the database
            _pause(database, True)
            for tab in tabs:
                tab.click("Run", also=[value(tab.widget("Matrix size"), 64)])
                await tab.wait_for_text("you keep your place", APPLY_TIMEOUT_S)
            watching = _threads(pid)
            for tab in tabs:
                await tab.close()
            deadline = time.monotonic() + LET_GO_TIMEOUT_S
            while _threads(pid) > watching - WATCHERS:
                assert time.monotonic() < deadline, (
                    f"{_threads(pid)} threads {LET_GO_TIMEOUT_S} s after the tabs closed; "
                    f"{watching} while {WATCHERS} tabs watched"
                )
                await asyncio.sleep(0.1)  # polling another process's thread count

        asyncio.run(watch_then_close())
        with get_engine(database).connect() as connection:
            queued = connection.execute(
                text("SELECT count(*) FROM task_run WHERE status = 'queued'")
            ).scalar_one()
        assert queued == WATCHERS, "closing a tab stops the watching, never the run"
        assert "Traceback" not in server.log()


TOAST_TIMEOUT_S = 20.0
"""Generous, yet far under the 300 s a watching page blocks at most: only a wake-up for the
toasted run's change shows the toast in time."""


def test_a_page_watching_its_run_toasts_another_run_of_its_owner_starting(server_env, tmp_path):
    """One person waits for a fractal in one tab and a matmul in another (both groups paused).

    When the fractal's group is resumed, the matmul page, still watching its
    own queued run in the same script run, toasts the fractal's start.
    """
    database = server_env["TASKGATE_DATABASE_URL"]
    server_env["TASKGATE_SINGLE_OWNER"] = "alice@example.org"
    with streamlit_server(tmp_path, server_env) as server:

        async def two_tabs() -> None:
            fractal, matmul = Tab(server.url), Tab(server.url)
            await fractal.open("fractal")  # the first visit also migrates the database
            await matmul.open("matmul")
            _pause(database, True)
            tiny = [value(fractal.widget(f"{side} (pixels)"), 64) for side in ("Width", "Height")]
            fractal.click("Run", also=tiny)
            await fractal.wait_for_text("you keep your place", APPLY_TIMEOUT_S)
            matmul.click("Run", also=[value(matmul.widget("Matrix size"), 64)])
            await matmul.wait_for_text("you keep your place", APPLY_TIMEOUT_S)
            runs_of_the_page = matmul.full_runs_started
            _pause(database, False, group="B")
            toasted = "Your Fractal renderer run"
            try:
                await matmul.wait_for_text(toasted, TOAST_TIMEOUT_S)
            except TimeoutError:
                pytest.fail(f"no toast within {TOAST_TIMEOUT_S} s; the page showed {matmul.texts}")
            assert matmul.full_runs_started == runs_of_the_page, "toasted by a rerun, not the wait"
            assert any("you keep your place" in line for line in matmul.texts)
            for tab in (fractal, matmul):
                await tab.close()

        asyncio.run(two_tabs())
        assert "Traceback" not in server.log()


def _set_limit_by_hand(url: str, group: str, limit: int) -> None:
    engine = get_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                'UPDATE concurrency_group SET "limit" = :limit, version = version + 1, '
                "updated_at = CURRENT_TIMESTAMP WHERE name = :name"
            ),
            {"limit": limit, "name": group},
        )


def _samples(url: str) -> int:
    with Session(get_engine(url)) as session:
        return session.exec(select(func.count(OccupancySample.id))).one()


def test_jobs_keep_running_with_50_sessions_and_a_hand_edit_applies(server_env, tmp_path):
    """Half the sessions watch Home live, half wait on a task page for a paused group."""
    database = server_env["TASKGATE_DATABASE_URL"]
    with streamlit_server(tmp_path, server_env) as server:

        async def load() -> None:
            watchers = [await _open_home(server.url) for _ in range(SESSIONS // 2)]
            engine = get_engine(database)
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE concurrency_group SET paused = 1, version = version + 1")
                )
            waiters = []
            for _ in range(SESSIONS - len(watchers)):
                tab = Tab(server.url)
                await tab.open("matmul")
                tab.click("Run", also=[value(tab.widget("Matrix size"), 64)])
                waiters.append(tab)
            samples_before = _samples(database)
            _set_limit_by_hand(database, "B", 7)
            applied_at = None
            deadline = time.monotonic() + APPLY_TIMEOUT_S
            while applied_at is None and time.monotonic() < deadline:
                await watchers[0].wait_for_run(FRAGMENT_RUN, timeout=APPLY_TIMEOUT_S)
                if any("of 7 slots" in line for line in watchers[0].texts):
                    applied_at = time.monotonic()
            assert applied_at is not None, "the hand edit never reached the pages"
            assert _samples(database) > samples_before, "the sampler stopped under load"
            for tab in watchers + waiters:
                await tab.close()

        asyncio.run(load())
        log = server.log()
    assert "maximum number of running instances" not in log
    assert "skipped" not in log
    assert "Traceback" not in log


def test_five_stops_print_no_traceback(server_env, tmp_path):
    """SIGTERM while the jobs run often (every 0.05 s), with a session connected."""
    server_env["TASKGATE_SAMPLE_INTERVAL_S"] = "0.05"
    database = server_env["TASKGATE_DATABASE_URL"]
    for stop in range(STOPS):
        with streamlit_server(tmp_path, server_env) as server:

            async def visit() -> None:
                tab = await _open_home(server.url)
                before = _samples(database)
                deadline = time.monotonic() + APPLY_TIMEOUT_S
                while _samples(database) <= before and time.monotonic() < deadline:
                    await tab.wait_for_run(FRAGMENT_RUN, timeout=APPLY_TIMEOUT_S)
                # Leave the tab open: the stop closes it, as with a real browser.

            asyncio.run(visit())
        dispose_engines()
        log = server.log()
        assert stopped_cleanly(server.process.returncode), f"stop {stop + 1}:\n{log}"
        assert "Traceback" not in log, f"stop {stop + 1}:\n{log}"
        assert "cannot schedule new futures" not in log, f"stop {stop + 1}:\n{log}"

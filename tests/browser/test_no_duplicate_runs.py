"""A double-click on Run makes one run, at desktop and phone width (real server, Chromium).

The server runs with TASKGATE_SINGLE_OWNER (one person in every session) and
group A paused, so the run stays queued while the page shows it. After the
double-click the page must show the one run with Cancel and "Run another";
the database must hold one run. Set TASKGATE_SCREENSHOTS to a folder to keep
a screenshot of each width.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from db.engine import get_engine
from db.models import ConcurrencyGroup
from tests.support.browser import wait_for_app_idle
from tests.support.durable import log_tracebacks, runs
from tests.support.server import streamlit_server

pytestmark = pytest.mark.browser

UI_TIMEOUT_MS = 60_000
OWNER = "alice@example.org"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def one_person_server(tmp_path, server_env, browser):
    env = {**server_env, "TASKGATE_SINGLE_OWNER": OWNER}
    with streamlit_server(tmp_path, env) as running:
        yield running
    assert log_tracebacks(running.log()) == []


def _pause_a(url: str) -> None:
    table = ConcurrencyGroup.__table__
    with get_engine(url).begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.name == "A")
            .values(paused=True, queue_timeout_s=600.0, version=table.c.version + 1)
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_a_double_click_on_run_makes_one_run(one_person_server, browser, server_env, width):
    url = server_env["TASKGATE_DATABASE_URL"]
    base = one_person_server.url
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    page.goto(base)
    wait_for_app_idle(page)  # starts the App (and migrates)
    _pause_a(url)
    page.goto(f"{base}/matmul")
    run = page.get_by_role("button", name="Run", exact=True)
    run.wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_role("spinbutton", name="Matrix size").fill("128")
    run.dblclick()
    page.get_by_text(re.compile(r"you keep your place \(position 1 of 1\)")).wait_for(
        timeout=UI_TIMEOUT_MS
    )
    page.get_by_role("button", name="Cancel", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name=re.compile(r"^(Run another|Yes, run another)$")).wait_for(
        timeout=UI_TIMEOUT_MS
    )
    assert page.get_by_role("button", name="Run", exact=True).count() == 0
    # The limits were said before Run, and are still there.
    page.get_by_text(re.compile(r"withdrawn \(the queue timeout\)")).wait_for(timeout=UI_TIMEOUT_MS)
    (only,) = runs(url)
    assert only.params["n"] == 128
    shots = os.environ.get("TASKGATE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"task-page-active-{width}.png"), full_page=True)
    # A reload shows the run and a form holding its settings (not the default).
    page.reload()
    page.get_by_text(re.compile(r"position 1 of 1")).wait_for(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_role("spinbutton", name="Matrix size")).to_have_value(
        "128", timeout=UI_TIMEOUT_MS
    )
    assert len(runs(url)) == 1
    context.close()

"""The admin acts on runs from the live view in a real browser; the owners see it on their pages.

A real server (its embedded worker runs the test tasks) and Chromium. Runs
are submitted through the same service the task pages use, for four guests
whose browsers carry their guest cookies, so each owner's own task page and
My runs show their run. The admin, signed in with the password, moves a
waiting run to the head, removes one, cancels the running one (the moved
run starts next) and clears the rest of the queue through the confirmation
that names how many, once after the queue grew under it.

Every step waits for what the page should show (the live view redraws every
second), with generous bounds; none waits a fixed time.
"""

from __future__ import annotations

import re

import pytest

from core.identity import set_guest_name
from db.engine import get_engine
from tests.support.browser import as_shown, wait_for_app_idle
from tests.support.durable import log_tracebacks, run_service, runs, wait_for_runs

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

UI_TIMEOUT_MS = 90_000
LONG = {"steps": 4000, "step_s": 0.05}  # minutes: only the admin ends these
NAMES = ("Ann", "Bob", "Cat", "Dan", "Eve", "Fay")
OWNERS = {name: f"guest:{digit * 32}" for name, digit in zip(NAMES, "abcdef", strict=True)}


def by_the_admin(what: str) -> re.Pattern[str]:
    """``what`` followed by " by the admin at HH:MM UTC." as the owner's page shows it."""
    joiner = "\u2060?"
    return re.compile(
        as_shown(f"{what} by the admin at ").pattern + rf"\d\d{joiner}:\d\d UTC{joiner}\."
    )


@pytest.fixture
def server_env(server_env):
    return {
        **server_env,
        "TASKGATE_TASK_MODULES": "tests.support.worker_tasks",
        "TASKGATE_CANCEL_GRACE_S": "2",
    }


def owner_page(browser, server, name: str, path: str):
    """``name``'s browser (their guest cookie) showing ``path``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "taskgate_guest", "value": OWNERS[name], "url": server.url}])
    page = context.new_page()
    page.goto(f"{server.url}/{path}")
    return page


def admin_live_view(browser, server):
    page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
    page.goto(f"{server.url}/admin")
    wait_for_app_idle(page)
    page.get_by_label("Admin password").fill("letmein-please")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Runs now").wait_for(timeout=UI_TIMEOUT_MS)
    return page


def row(page, run_id: str):
    """The live view's row of one run (its container is keyed by the run's id)."""
    return page.locator(f".st-key-admin-run-{run_id}")


def shows(locator, text) -> None:
    locator.get_by_text(text).first.wait_for(timeout=UI_TIMEOUT_MS)


def test_the_admin_moves_removes_cancels_and_clears_and_each_owner_is_told(
    server, browser, server_env, monkeypatch
):
    url = server_env["TASKGATE_DATABASE_URL"]
    for name, owner in OWNERS.items():
        set_guest_name(get_engine(url), owner, name)
    service = run_service(url, monkeypatch)
    ann = service.submit("sleepy", LONG, OWNERS["Ann"])
    wait_for_runs(url, lambda rows: rows[ann].status == "running", "Ann's run running")
    bob, cat, dan, eve = (service.submit("sleepy", LONG, OWNERS[name]) for name in NAMES[1:5])

    admin = admin_live_view(browser, server)
    shows(admin, "Group A · 1 running · 4 waiting")
    shows(row(admin, ann), re.compile(r"running · Test task sleepy · Ann · for .+ on "))
    for place, (run_id, name) in enumerate(((bob, "Bob"), (cat, "Cat"), (dan, "Dan")), 1):
        shows(row(admin, run_id), f"#{place} in line · Test task sleepy · {name} · waiting")
    assert row(admin, bob).get_by_role("button", name="Move to head").count() == 0

    dan_page = owner_page(browser, server, "Dan", "sleepy")
    shows(dan_page, "Waiting for a slot in group A — position 3 of 4")

    # Move to head: the admin sees the new order, Dan reads who moved him and his new place.
    row(admin, dan).get_by_role("button", name="Move to head").click()
    shows(admin, "Moved Test task sleepy of Dan to the head of the queue of group A.")
    shows(row(admin, dan), "#1 in line · Test task sleepy · Dan")
    shows(row(admin, bob), "#2 in line · Test task sleepy · Bob")
    shows(dan_page, "Waiting for a slot in group A — position 1 of 4")
    shows(dan_page, by_the_admin("Moved to the head of the queue"))

    # Remove: Cat's row goes, and Cat's task page says who took the run out of the queue.
    row(admin, cat).get_by_role("button", name="Remove").click()
    shows(admin, "Removed Test task sleepy of Cat from the queue; its owner is told.")
    row(admin, cat).wait_for(state="detached", timeout=UI_TIMEOUT_MS)
    shows(admin, "Group A · 1 running · 3 waiting")
    cat_page = owner_page(browser, server, "Cat", "sleepy")
    shows(cat_page, by_the_admin("Removed from the queue"))

    # Cancel run: Ann's run stops and Ann is told; the run moved to the head starts next.
    ann_page = owner_page(browser, server, "Ann", "sleepy")
    ann_page.locator('[data-testid="stProgress"]').wait_for(timeout=UI_TIMEOUT_MS)
    row(admin, ann).get_by_role("button", name="Cancel run").click()
    shows(admin, "Cancelling Test task sleepy of Ann: it stops at its next step")
    row(admin, ann).wait_for(state="detached", timeout=UI_TIMEOUT_MS)
    shows(ann_page, by_the_admin("Cancelled"))
    shows(row(admin, dan), re.compile(r"running · Test task sleepy · Dan · for "))
    dan_page.locator('[data-testid="stProgress"]').wait_for(timeout=UI_TIMEOUT_MS)

    # Clear the queue: the confirmation names how many; a run queued meanwhile makes it ask again.
    shows(admin, "Group A · 1 running · 2 waiting")
    admin.get_by_role("button", name="Clear the queue…").click()
    shows(admin, "Remove all 2 runs waiting in group A?")
    fay = service.submit("sleepy", LONG, OWNERS["Fay"])
    shows(row(admin, fay), "#3 in line · Test task sleepy · Fay")
    admin.get_by_role("button", name="Yes, remove 2 runs").click()
    shows(admin, as_shown("The queue of group A now holds 3 runs, not 2; nothing was removed."))
    shows(admin, "Remove all 3 runs waiting in group A?")
    assert {r.id: r.status for r in runs(url)}[bob] == "queued", "nothing removed on a mismatch"
    admin.get_by_role("button", name="Yes, remove 3 runs").click()
    shows(admin, "Removed 3 runs from the queue of group A; their owners are told.")
    shows(admin, "Group A · 1 running · 0 waiting")
    for run_id in (bob, eve, fay):
        row(admin, run_id).wait_for(state="detached", timeout=UI_TIMEOUT_MS)
    eve_runs = owner_page(browser, server, "Eve", "my_runs")
    # My runs is a canvas grid: its cells are in the DOM for assistive tech, not visible.
    eve_runs.get_by_text(by_the_admin("Removed from the queue (the queue was cleared)")).wait_for(
        state="attached", timeout=UI_TIMEOUT_MS
    )

    final = {r.id: (r.status, r.error) for r in runs(url)}
    assert {run_id: final[run_id][0] for run_id in (ann, bob, cat, eve, fay)} == dict.fromkeys(
        (ann, bob, cat, eve, fay), "cancelled"
    )
    assert final[dan][0] == "running"
    row(admin, dan).get_by_role("button", name="Cancel run").click()
    wait_for_runs(url, lambda rows: rows[dan].status == "cancelled", "Dan's run cancelled")
    for page in (admin, dan_page, cat_page, ann_page, eve_runs):
        assert page.locator('[data-testid="stException"]').count() == 0
    assert log_tracebacks(server.log()) == []

"""An admin watches group A in a real browser while users run tasks in theirs.

The admin signs in and keeps the Live view open; one user starts a long
matrix multiply in group A (limit 1) and a second user queues behind it.
The admin's charts, redrawn every second without a page reload, must show
A's occupancy rise to 1 and its queue reach 1, then both fall back to 0
once the first user cancels and the second user's quick run is done.

The charts are read from the Plotly graph in the page (``gd.data``): the
last point of a group's line is its value now, and the whole line is its
last 15 minutes. The fragment replaces the graph every second, so every
read is a wait for the state the chart should show (polled in the page),
never a read at a fixed moment that may land mid-redraw.
"""

from __future__ import annotations

import pytest

from tests.support.browser import wait_for_app_idle

# Three browser sessions, one of them loading torch: minutes on a small, busy CI machine.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

SLOW = {"Matrix size": 2048, "Repeats": 100}  # tens of seconds: cancelled before it ends
QUICK = {"Matrix size": 128, "Repeats": 3}
UI_TIMEOUT_MS = 120_000
CHART_TIMEOUT_MS = 60_000  # the fragment redraws every second; generous for a loaded machine

# The values of one trace of group A's panel in a chart, or null while there is none.
_GROUP_LINE = """([chart, group, trace]) => {
    const plot = document.querySelectorAll('.js-plotly-plot')[chart];
    if (!plot || !plot.layout || !plot.data) return null;
    const panel = plot.layout.annotations.findIndex(a => a.text === 'Group ' + group);
    if (panel < 0) return null;
    const axis = panel === 0 ? 'x' : 'x' + (panel + 1);
    const line = plot.data.find(t => t.xaxis === axis && t.name === trace);
    return line ? Array.from(line.y) : null;
}"""
OCCUPANCY, QUEUE = 0, 1  # the Live view's charts, in page order


def _wait_for_line(page, chart: int, trace: str, holds: str, what: str) -> None:
    """Wait until group A's line in ``chart`` satisfies the JS predicate ``holds`` (on ``y``)."""
    check = f"(args) => {{ const y = ({_GROUP_LINE})(args); return !!y && y.length && ({holds}); }}"
    try:
        page.wait_for_function(
            check, arg=[chart, "A", trace], timeout=CHART_TIMEOUT_MS, polling=200
        )
    except Exception as error:  # Playwright's TimeoutError: say which state never showed
        raise AssertionError(f"the {trace!r} line of group A never showed {what}") from error


def _wait_for_now(page, chart: int, trace: str, value: int) -> None:
    """Wait until group A's line in ``chart`` ends at ``value`` (its value now)."""
    _wait_for_line(page, chart, trace, f"y.at(-1) === {value}", f"{value} now")


def _wait_for_recorded(page, chart: int, trace: str, value: int) -> None:
    """Wait until a sample before now has ``value``: the history, not only the live point."""
    _wait_for_line(page, chart, trace, f"y.slice(0, -1).includes({value})", f"{value} recorded")


def _admin_live_view(browser, server):
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page.goto(server.url)
    wait_for_app_idle(page)
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Admin password").fill("letmein-please")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=UI_TIMEOUT_MS)
    page.locator(".js-plotly-plot").nth(QUEUE).wait_for(timeout=UI_TIMEOUT_MS)
    return page


def _user_starts_matmul(browser, server, settings: dict[str, int]):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server.url}/matmul")
    wait_for_app_idle(page)
    for label, value in settings.items():
        page.get_by_role("spinbutton", name=label).fill(str(value))
    page.get_by_role("button", name="Run", exact=True).click()
    return page


def test_the_admin_sees_group_a_fill_up_queue_and_drain_live(server, browser, tmp_path):
    admin = _admin_live_view(browser, server)
    _wait_for_now(admin, OCCUPANCY, "running", 0)
    _wait_for_now(admin, QUEUE, "queued", 0)
    _wait_for_now(admin, OCCUPANCY, "limit", 1)

    first = _user_starts_matmul(browser, server, SLOW)
    first.locator('[data-testid="stProgress"]').wait_for(timeout=UI_TIMEOUT_MS)
    _wait_for_now(admin, OCCUPANCY, "running", 1)
    admin.get_by_role("cell", name="1 / 1", exact=True).wait_for(timeout=CHART_TIMEOUT_MS)

    second = _user_starts_matmul(browser, server, QUICK)
    second.get_by_text("Waiting for a slot in group A").wait_for(timeout=UI_TIMEOUT_MS)
    _wait_for_now(admin, QUEUE, "queued", 1)
    _wait_for_now(admin, OCCUPANCY, "running", 1)
    # The sampler records the busy state (every second here) before the first user cancels,
    # so the lines below can show it after it is over.
    _wait_for_recorded(admin, QUEUE, "queued", 1)
    _wait_for_recorded(admin, OCCUPANCY, "running", 1)
    admin.screenshot(path=str(tmp_path / "admin-live-busy.png"), full_page=True)

    first.get_by_role("button", name="Cancel").click()
    second.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    # The line itself tells the story: it rose to 1 and is back at 0, all without a reload.
    rose_and_fell = "y.at(-1) === 0 && Math.max(...y) === 1"
    _wait_for_line(admin, OCCUPANCY, "running", rose_and_fell, "1 and then 0")
    _wait_for_line(admin, QUEUE, "queued", rose_and_fell, "1 and then 0")
    for page in (admin, first, second):
        assert page.locator('[data-testid="stException"]').count() == 0

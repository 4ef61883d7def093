"""A link someone shares opens its page, under Taskgate's navigation, every time.

Deep links of every kind (Home, the built-in task pages, your own task pages
from ``TASKGATE_TASK_MODULES``, My runs, Admin) as the very first request of
fresh servers, and as the first request of new browser contexts on a warm
one: none may show Streamlit's "Page not found", its own sidebar, a blank
page or the centred layout. Streamlit's old ``pages/`` mode, which caused
all of these, is off from the server's start (core/ui/server.py).
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from db.engine import dispose_engines
from tests.support.browser import chromium, wait_for_app_idle
from tests.support.server import streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

LINKS = {
    "": "Taskgate",
    "matmul": "Matrix-multiply benchmark",
    "fractal": "Fractal renderer",
    "my_runs": "My runs",
    "admin": "Admin",
    "soften": "Soften a photo",  # an own task page (tests/fixtures/tasks_extra)
    "classifier": "Train a small classifier",
    "echo": "Echo a word",  # an own task page
    "pattern": "Pattern from a prompt",
}
SECTIONS = ("Taskgate", "Tasks", "Admin")
FRESH_SERVERS = 5
FIRST_VISITORS = 2
"""Each fresh server gets this many first requests at once, from separate browsers' contexts."""
WARM_VISITS = 10
PAGE_TIMEOUT_MS = 60_000
"""Generous, not a bound: the server has started Taskgate before answering, but cores are busy."""
CENTRED_MAX_WIDTH_PX = 736
"""Streamlit's centred layout caps the main column at 46rem; the wide one fills the window."""


def _what_is_wrong(browser, url: str, heading: str) -> str | None:
    """Open ``url`` in a new context as a first visit; None if Taskgate shows the page right."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(url)
        wait_for_app_idle(page, PAGE_TIMEOUT_MS)
        page.get_by_role("heading", name=heading).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.locator('[data-testid="stNavSectionHeader"]').first.wait_for(timeout=PAGE_TIMEOUT_MS)
        wait_for_app_idle(page, PAGE_TIMEOUT_MS)
        headers = nav.locator('[data-testid="stNavSectionHeader"]').all_inner_texts()
        width = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
        if page.get_by_text("Page not found").count():
            return "Page not found"
        if page.locator('[data-testid="stException"]').count():
            return "an exception"
        if tuple(header.strip() for header in headers) != SECTIONS:
            return f"sidebar sections {headers}"
        if width <= CENTRED_MAX_WIDTH_PX + 100:
            return f"the centred layout ({width}px)"
        return None
    except Exception as error:  # a heading that never came: a blank or wrong page
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        context.close()


def _visit_all_at_once(server_url: str, links: list[str]) -> list[tuple[str, str | None]]:
    with ThreadPoolExecutor(len(links)) as pool:
        return list(pool.map(_visit_in_thread, [(server_url, link) for link in links]))


def _visit_in_thread(job: tuple[str, str]) -> tuple[str, str | None]:
    """Playwright's sync API is per thread: each concurrent visitor has a browser of its own."""
    server_url, link = job
    with chromium() as browser:
        return link, _what_is_wrong(browser, f"{server_url}/{link}", LINKS[link])


def test_twenty_first_requests_to_deep_links_all_show_their_page(
    tmp_path, server_env, browser
):
    env = {**server_env, "TASKGATE_TASK_MODULES": "tests.fixtures.tasks_extra"}
    links = itertools.cycle(LINKS)
    results: list[tuple[str, str | None]] = []
    for n in range(FRESH_SERVERS):
        with streamlit_server(tmp_path, env) as server:
            results += _visit_all_at_once(server.url, [next(links) for _ in range(FIRST_VISITORS)])
            if n == FRESH_SERVERS - 1:  # this one is warm now: new contexts, one after another
                for link in itertools.islice(links, WARM_VISITS):
                    url = f"{server.url}/{link}"
                    results.append((link, _what_is_wrong(browser, url, LINKS[link])))
        dispose_engines()
    assert len(results) == FRESH_SERVERS * FIRST_VISITORS + WARM_VISITS
    assert {link for link, _ in results} == set(LINKS), "every kind of page was opened"
    wrong = [(f"/{link}", problem) for link, problem in results if problem]
    assert wrong == [], f"{len(wrong)} of {len(results)} deep links went wrong"

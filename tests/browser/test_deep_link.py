"""A fresh server's first visitor who deep-links a page still gets Taskgate's navigation.

With a top-level ``pages/`` folder Streamlit runs a fresh process's first deep
link as its old automatic multipage app (the page script alone, a generic
sidebar, the centred layout) until some session calls ``st.navigation``; the
page hands over to Home.py instead (``core/ui/navigation.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.tasks import registry
from db.engine import dispose_engines
from tests.support.browser import wait_for_app_idle
from tests.support.server import Server, streamlit_server

pytestmark = pytest.mark.browser

SECTIONS = ("Taskgate", "Tasks", "Admin")
STARTUP_TIMEOUT_MS = 90_000
"""The first request starts the process's services (migrations, torch): generous, not a bound."""
CENTRED_MAX_WIDTH_PX = 736
"""Streamlit's centred layout caps the main column at 46rem; the wide one fills the window."""


def _assert_taskgate_layout(page, heading: str) -> None:
    wait_for_app_idle(page, STARTUP_TIMEOUT_MS)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=20_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.locator('[data-testid="stNavSectionHeader"]').first.wait_for(timeout=20_000)
    headers = nav.locator('[data-testid="stNavSectionHeader"]').all_inner_texts()
    assert tuple(header.strip() for header in headers) == SECTIONS
    nav.get_by_text("My runs", exact=True).wait_for(timeout=20_000)
    width = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
    assert width > CENTRED_MAX_WIDTH_PX + 100, f"main column is {width}px: not the wide layout"
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.fixture
def fresh_server(tmp_path, server_env, browser) -> Iterator[Server]:
    """A server no session has visited yet (the shared ``server`` fixture visits Home)."""
    with streamlit_server(tmp_path, server_env) as running:
        yield running
    dispose_engines()


def test_first_request_to_admin_shows_taskgate_navigation_then_every_page(
    fresh_server, browser, tmp_path
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{fresh_server.url}/admin")
    _assert_taskgate_layout(page, "Admin")
    page.get_by_text("Admin password").wait_for(timeout=20_000)
    page.screenshot(path=str(tmp_path / "admin-first.png"), full_page=True)

    page.goto(fresh_server.url)
    _assert_taskgate_layout(page, "Taskgate")
    for task in registry.tasks().values():
        page.goto(f"{fresh_server.url}/{task.key}")
        _assert_taskgate_layout(page, task.title)


def test_first_request_to_a_task_page_shows_it_under_taskgate_navigation(fresh_server, browser):
    """The known limit: Streamlit's old mode has already said "Page not found" (once)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{fresh_server.url}/matmul")
    page.get_by_text("Page not found").wait_for(timeout=STARTUP_TIMEOUT_MS)
    page.keyboard.press("Escape")
    _assert_taskgate_layout(page, "Matrix-multiply benchmark")

"""A new user's first look: the served app answers health checks and lists groups A and B."""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.support.browser import wait_for_app_idle

pytestmark = pytest.mark.browser


def test_health_answers_ok_and_home_lists_the_seeded_groups(server, browser, tmp_path):
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as response:
        assert response.read().decode().strip() == "ok"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url)
    wait_for_app_idle(page)
    page.get_by_text("Taskgate lets many people share one GPU").wait_for(timeout=20_000)
    page.get_by_text(re.compile(r"Group A$")).wait_for(timeout=20_000)
    page.get_by_text(re.compile(r"Group B$")).wait_for(timeout=20_000)
    assert page.get_by_text("0 of 1 slot busy · nobody waiting").count() == 2
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

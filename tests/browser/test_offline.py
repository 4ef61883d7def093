"""The app works offline: every request a page makes goes to the Taskgate server itself.

Streamlit fetches a ``:material/…:`` page icon from fonts.gstatic.com (the
material icons inside the page come from a font it serves itself), so the
page icon is an emoji, which Streamlit draws as an inline SVG.
"""

from __future__ import annotations

import pytest

from tests.support.browser import wait_for_app_idle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_home_and_a_task_page_request_nothing_from_other_hosts(server, browser):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((server.url, "data:", "blob:"))
            else elsewhere.append(request.url)
        ),
    )
    page.goto(server.url)
    wait_for_app_idle(page)
    page.get_by_role("link", name="Matrix-multiply benchmark").first.click()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=60_000)
    wait_for_app_idle(page)
    icon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
    assert icon.startswith("data:image/svg+xml"), icon
    # The sidebar's material icons are drawn from the font the server ships.
    assert page.evaluate("() => document.fonts.check('24px \"Material Symbols Rounded\"')")
    assert elsewhere == []

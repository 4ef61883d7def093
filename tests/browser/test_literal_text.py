"""Text people typed reads as typed on every page that shows it, in a real browser.

A group's name and description come from an admin; Streamlit renders most
text as Markdown, which would turn ``**b**`` bold, ``[x](javascript:…)``
into a link, ``:red[r]`` red, ``~~s~~`` struck out, ``$y$`` into maths and
a bare ``www.evil.example`` or ``a@b.example`` into links. The pages show
them through ``core.ui.wording.plain``; this test reads the DOM of each
page for elements made from that text, and for the text itself.
"""

from __future__ import annotations

import re

import pytest

from core.auth import ADMIN_NAME, Actor
from core.groups import GroupService, GroupSettings
from core.runs.occupancy import Occupancy
from db.engine import dispose_engines, get_engine
from db.migrate import upgrade
from tests.support.browser import wait_for_app_idle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

NAME = "www.evil.example"
DESCRIPTION = (
    "**b** [x](javascript:alert(1)) :red[r] ~~s~~ $y$ www.evil.example a@b.example <i>h</i>"
)
UI_TIMEOUT_MS = 60_000
ADMIN = Actor(ADMIN_NAME, is_admin=True)

# Elements Markdown would have made from the hostile text, described for the failure message.
_MADE_FROM_TEXT = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const found = [];
    for (const a of main.querySelectorAll('a')) {
        const said = (a.getAttribute('href') || '') + ' ' + a.textContent;
        if (/evil|javascript|b\\.example|^x$/.test(said)) found.push('link: ' + said);
    }
    for (const e of main.querySelectorAll('strong, b, em, i, del, s, code')) {
        const text = e.textContent.trim();
        if (['b', 's', 'h', 'x'].includes(text)) found.push(e.tagName + ': ' + text);
    }
    for (const e of main.querySelectorAll('.katex, [class*="olored"], [style*="color"]')) {
        if (['r', 'y'].includes(e.textContent.trim())) found.push('styled: ' + e.textContent);
    }
    return found;
}"""
_SHOWN = (
    "() => document.querySelector('[data-testid=\"stMain\"]').innerText.replaceAll('\\u2060', '')"
)


def _shows_literally(page, *texts: str) -> None:
    """Wait until the page shows each of ``texts`` as typed; then no Markdown came of them."""
    page.wait_for_function(
        f"(texts) => {{ const shown = ({_SHOWN})(); return texts.every(t => shown.includes(t)); }}",
        arg=list(texts),
        timeout=UI_TIMEOUT_MS,
    )
    wait_for_app_idle(page)
    assert page.evaluate(_MADE_FROM_TEXT) == []
    assert page.locator('[data-testid="stException"]').count() == 0


def _prepare(url: str) -> None:
    upgrade(url)
    engine = get_engine(url)
    # Before the server starts: no admitter to tell, the server reads the groups as it starts.
    groups = GroupService(engine, Occupancy(engine).fresh, lambda: None)
    groups.create(ADMIN, NAME, GroupSettings(limit=2, description=DESCRIPTION))
    groups.update(ADMIN, "A", GroupSettings(limit=1, description=DESCRIPTION), 1)
    dispose_engines()


def test_names_and_descriptions_read_as_typed_on_every_page(request, server_env, browser, tmp_path):
    _prepare(server_env["TASKGATE_DATABASE_URL"])
    server = request.getfixturevalue("server")
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()

    page.goto(server.url)
    wait_for_app_idle(page)
    _shows_literally(page, f"Group {NAME}", DESCRIPTION)  # Home's group cards
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Admin password").fill("letmein-please")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=UI_TIMEOUT_MS)
    _shows_literally(page, NAME)  # the live table

    page.get_by_text("History", exact=True).click()
    _shows_literally(page, "Runs per group")  # charts titled by group, a table of runs
    page.get_by_text("Audit log", exact=True).click()
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=UI_TIMEOUT_MS)
    _shows_literally(page)  # a data grid: cells are text, never Markdown

    page.get_by_text("Groups", exact=True).click()
    _shows_literally(page, f"Group {NAME}", DESCRIPTION)  # the group list
    page.get_by_role("combobox", name="Group to edit").click()
    page.get_by_role("option", name=NAME).click()
    _shows_literally(page, f"Delete group {NAME}")  # the editor
    assert page.get_by_role("textbox", name="Description").first.input_value() == DESCRIPTION
    page.get_by_role("button", name="Save changes").click()  # nothing changed: says so
    _shows_literally(page, "Nothing changed, so nothing was saved.")
    page.get_by_role("button", name=re.compile("^Delete group ")).click()
    _shows_literally(page, f"Deleted group {NAME}.")  # the flash message
    page.screenshot(path=str(tmp_path / "admin-groups.png"), full_page=True)

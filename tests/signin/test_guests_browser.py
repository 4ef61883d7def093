"""Guests in real browsers: one guest per browser across reloads and tabs, and the gate.

Without sign-in set up (the embedded default) everyone is a guest, kept in
the ``taskgate_guest`` cookie. With ``TASKGATE_GUESTS=none`` a guest gets a
sentence asking to sign in, and no page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from db.engine import dispose_engines, get_engine
from db.models import TaskRun, utcnow
from tests.support.browser import wait_for_app_idle
from tests.support.oidc import oidc_provider, require_oidc_provider, signing_in_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

UI_TIMEOUT_MS = 60_000  # generous: a loaded CI machine; no test asserts a latency
GUEST_NAME = re.compile(r"^Guest [0-9a-f]{4}$")


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app_idle(page, UI_TIMEOUT_MS)


def _guest_shown(page) -> str:
    """The guest's name as the sidebar shows it, e.g. "Guest 4f2a"."""
    name = page.get_by_test_id("stSidebar").locator("strong").first
    name.wait_for(timeout=UI_TIMEOUT_MS)
    return name.inner_text()


def _guest_cookie(context) -> str:
    (value,) = [c["value"] for c in context.cookies() if c["name"] == "taskgate_guest"]
    return value


def _add_run(database: str, owner: str) -> None:
    enqueued = utcnow() - timedelta(minutes=1)
    with Session(get_engine(database)) as session:
        session.add(
            TaskRun(
                id="guest-run-1",
                group_name="B",
                task="fractal",
                owner=owner,
                params={"width": 320, "height": 240, "max_iter": 50},
                status="succeeded",
                enqueued_at=enqueued,
                started_at=enqueued + timedelta(seconds=1),
                finished_at=enqueued + timedelta(seconds=3),
            )
        )
        session.commit()


def test_a_guest_is_the_same_after_a_reload_and_in_a_second_tab(
    server, server_env, browser, tmp_path
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    first = context.new_page()
    _open(first, server.url)
    shown = _guest_shown(first)
    assert GUEST_NAME.match(shown), shown
    first.get_by_text("Your runs stay with this browser").wait_for(timeout=UI_TIMEOUT_MS)
    owner = _guest_cookie(context)
    assert shown == f"Guest {owner.removeprefix('guest:')[:4]}"
    _add_run(server_env["TASKGATE_DATABASE_URL"], owner)

    first.reload()
    wait_for_app_idle(first, UI_TIMEOUT_MS)
    assert _guest_shown(first) == shown
    second = context.new_page()
    _open(second, f"{server.url}/my_runs")
    assert _guest_shown(second) == shown
    second.get_by_text(f"Runs requested as {shown} from this browser").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    second.get_by_test_id("stSelectbox").first.wait_for(timeout=UI_TIMEOUT_MS)  # the run is listed
    assert _guest_cookie(context) == owner

    # The guest names themselves; every tab shows the name from then on.
    second.get_by_role("button", name="Change your name").click()
    second.get_by_role("textbox", name="Shown as").fill("Ada *the* Guest")
    second.get_by_role("button", name="Save").click()
    second.get_by_test_id("stSidebar").get_by_text("Ada *the* Guest").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    first.reload()
    wait_for_app_idle(first, UI_TIMEOUT_MS)
    assert _guest_shown(first) == "Ada *the* Guest"
    first.screenshot(path=str(tmp_path / "guest-named.png"), full_page=True)

    # Another browser is another guest, with none of this one's runs.
    other = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    _open(other, f"{server.url}/my_runs")
    assert _guest_shown(other) not in (shown, "Ada *the* Guest")
    other.get_by_text("No runs yet").wait_for(timeout=UI_TIMEOUT_MS)
    other.screenshot(path=str(tmp_path / "guest-phone.png"), full_page=True)
    for page in (first, second, other):
        assert page.locator('[data-testid="stException"]').count() == 0


def test_with_guests_none_a_guest_is_asked_to_sign_in_and_cannot_run(server_env, browser, tmp_path):
    require_oidc_provider()
    env = {**server_env, "TASKGATE_GUESTS": "none"}
    with oidc_provider() as provider, signing_in_server(tmp_path, env, provider) as server:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _open(page, f"{server.url}/matmul")
        page.get_by_text("Sign in to use Taskgate").wait_for(timeout=UI_TIMEOUT_MS)
        assert page.get_by_role("button", name="Run", exact=True).count() == 0
        assert page.get_by_role("heading", name="Matrix-multiply benchmark").count() == 0
        page.screenshot(path=str(tmp_path / "guests-none.png"), full_page=True)
        # Signing in opens the page.
        page.get_by_role("main").get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{provider.issuer}/**", timeout=UI_TIMEOUT_MS)
        page.get_by_role("button", name="bob", exact=True).click()
        page.wait_for_url(f"{server.url}/**", timeout=UI_TIMEOUT_MS)
        wait_for_app_idle(page, UI_TIMEOUT_MS)
        _open(page, f"{server.url}/matmul")
        page.get_by_role("button", name="Run", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    dispose_engines()

"""People sign in through a real OpenID Connect provider, in real browsers.

The test suite starts ``oidc-provider-mock`` on localhost (it knows alice and
bob) and a ``streamlit run Home.py`` server whose ``[auth]`` points at it;
Chromium signs in by clicking the person's button on the provider's page,
exactly the redirects a real provider makes. Each browser context is one
browser: its own cookies, so its own Streamlit sessions.

On the module's server alice is listed in ``TASKGATE_ADMINS`` and bob is
not, and group A admits 2 runs at once but only 1 per person. Runs are
durable: a page submits them and the server's worker runs them, so a task
page watching an active run never goes idle (tests wait for what it shows).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from core.identity import owner_id
from db.engine import dispose_engines, get_engine
from db.migrate import upgrade
from db.models import AuditEvent, TaskRun
from tests.support.browser import as_shown, chromium, require_browser, wait_for_app_idle
from tests.support.database import sqlite_url
from tests.support.durable import wait_for_runs
from tests.support.oidc import USERS, Provider, oidc_provider, require_oidc_provider
from tests.support.oidc import signing_in_server as start_signing_in_server
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

UI_TIMEOUT_MS = 60_000  # generous: a loaded CI machine; no test asserts a latency
QUICK = {"Matrix size": 128, "Repeats": 3}
CAP_SHOWN = as_shown("You already have 1 run queued or running in group A (the cap per person).")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    require_browser()
    require_oidc_provider()
    with oidc_provider() as running:
        yield running


@pytest.fixture(scope="module")
def chromium_browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    """The module server's database: group A admits 2 runs at once, 1 per person."""
    url = sqlite_url(tmp_path_factory.mktemp("signin-db"))
    upgrade(url)
    with get_engine(url).begin() as connection:
        connection.execute(
            text(
                'UPDATE concurrency_group SET "limit" = 2, per_owner_limit = 1, '
                "version = version + 1 WHERE name = 'A'"
            )
        )
    return url


@pytest.fixture(scope="module")
def signing_in_server(tmp_path_factory, provider, database) -> Iterator[Server]:
    env = {
        "TASKGATE_DATABASE_URL": database,
        "TASKGATE_ADMIN_PASSWORD": "letmein-please",
        "TASKGATE_ADMINS": "alice@example.com",
        # "spin" runs until cancelled: her run is surely still active when the cap is asked.
        "TASKGATE_TASK_MODULES": "tests.support.worker_tasks",
        "TASKGATE_CANCEL_GRACE_S": "2",
    }
    with start_signing_in_server(tmp_path_factory.mktemp("signin"), env, provider) as server:
        yield server
    dispose_engines()


@pytest.fixture
def new_page(chromium_browser):
    """Pages each in a browser context of its own, all closed when the test ends.

    Closing matters: an open Home page redraws every 2 s, and a loaded server
    serving the previous tests' pages answers the next one late.
    """
    contexts = []

    def make():
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _sign_in(page, server: Server, provider: Provider, who: str) -> None:
    """Click Sign in, pick ``who`` on the provider's page, and wait to be back, signed in."""
    page.goto(server.url)
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{provider.issuer}/**", timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name=who, exact=True).click()
    page.wait_for_url(f"{server.url}/**", timeout=UI_TIMEOUT_MS)
    _signed_in_as(page, who)


def _signed_in_as(page, who: str) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(f"Signed in as {USERS[who]['name']}").wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page, UI_TIMEOUT_MS)


def _open(page, server: Server, path: str) -> None:
    page.goto(f"{server.url}/{path}")
    wait_for_app_idle(page, UI_TIMEOUT_MS)


def _start_matmul(page, server: Server, settings: dict[str, int]) -> None:
    _open(page, server, "matmul")
    for label, value in settings.items():
        page.get_by_role("spinbutton", name=label).fill(str(value))
    page.get_by_role("button", name="Run", exact=True).click()


def _listed_runs(page) -> list[str]:
    """The finished runs My runs lists, newest first, by status: its "Open a finished run" choices.

    (The table itself is drawn on a canvas; the choices name the same runs.)
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    options = page.get_by_role("option")
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while True:
        # My runs redraws itself while it is live, which can close a list just opened.
        page.get_by_test_id("stSelectbox").first.click()  # "Run one again" may follow it
        try:
            options.first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
    labels = options.all_inner_texts()
    page.keyboard.press("Escape")
    return [label.rsplit(" ", 1)[-1] for label in labels]


def _runs_of(database: str, who: str, issuer: str) -> list[TaskRun]:
    with Session(get_engine(database)) as session:
        owner = owner_id(issuer, who)
        return list(session.exec(select(TaskRun).where(TaskRun.owner == owner)).all())


def _click_together(pages, name: str) -> None:
    """Click each page's ``name`` button at one shared instant, as one person might in two browsers.

    Playwright drives pages one after another, so each page is handed the
    same moment on the browser's clock (one machine, one clock) and clicks
    then by itself: the requests leave together, not a Playwright round trip
    apart. A page told after the moment passed clicks at once; which request
    the server admits first is the race the cap must survive either way.
    """
    moment_ms = (time.time() + 2) * 1000
    for page in pages:
        button = page.get_by_role("button", name=name, exact=True)
        button.evaluate(
            "(button, at) => setTimeout(() => button.click(), at - Date.now())", moment_ms
        )


def test_alice_signs_in_and_the_admin_page_is_hers_without_a_password(
    signing_in_server, provider, new_page, database, tmp_path
):
    page = new_page()
    _sign_in(page, signing_in_server, provider, "alice")
    page.screenshot(path=str(tmp_path / "alice-home.png"), full_page=True)

    page.get_by_role("link", name="Admin").click()
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    page.get_by_text("an admin; changes are logged in your name").wait_for(timeout=UI_TIMEOUT_MS)
    assert page.get_by_label("Admin password").count() == 0

    # A reload keeps her signed in and an admin: the sign-in lives in Streamlit's cookie.
    page.reload()
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    page.get_by_text("an admin; changes are logged in your name").wait_for(timeout=UI_TIMEOUT_MS)

    page.get_by_role("radio", name="Groups").or_(page.get_by_role("button", name="Groups")).click()
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    page.get_by_label("Group to edit").click()
    page.get_by_role("option", name="B", exact=True).click()
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    edit_form = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Save changes")
    )
    edit_form.get_by_role("textbox", name="Limit (runs at once)").fill("3")
    edit_form.get_by_role("button", name="Save changes").click()
    page.get_by_text("Saved group B").wait_for(timeout=UI_TIMEOUT_MS)

    with Session(get_engine(database)) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.group_name == "B")).all()
    assert [(row.action, row.actor) for row in rows] == [
        ("update", "Alice Example (alice@example.com)")
    ]
    assert rows[0].after["limit"] == 3
    assert page.locator('[data-testid="stException"]').count() == 0


def test_bob_is_not_listed_so_he_gets_no_admin_page(signing_in_server, provider, new_page):
    page = new_page()
    _sign_in(page, signing_in_server, provider, "bob")
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("link", name="Admin").count() == 0
    # Typing the admin page's address does not open it either.
    _open(page, signing_in_server, "admin")
    assert page.get_by_label("Admin password").count() == 0
    assert page.get_by_role("heading", name="Admin").count() == 0
    _signed_in_as(page, "bob")


def test_alices_runs_follow_her_and_her_cap_counts_her_across_browsers(
    signing_in_server, provider, new_page, database
):
    first, second, bobs = (new_page() for _ in range(3))
    _sign_in(first, signing_in_server, provider, "alice")
    _sign_in(second, signing_in_server, provider, "alice")
    _sign_in(bobs, signing_in_server, provider, "bob")
    for page in (first, second):
        _open(page, signing_in_server, "spin")  # a test task that runs until cancelled

    # Both of her browsers press Run at the same moment. Group A has a free slot for
    # each, but she may have 1 run there, so exactly one request is admitted...
    _click_together((first, second), "Run")
    for page in (first, second):
        # ...and both browsers show it live, hers whichever browser started it. A
        # refusal is drawn above the run, so it is on the page once the run is.
        page.get_by_role("button", name="Cancel").wait_for(timeout=UI_TIMEOUT_MS)
    refused = [page for page in (first, second) if page.get_by_text(CAP_SHOWN).count() == 1]
    if not refused:
        # The second press came once her first run was recorded: that page asked whether
        # she means another run of the task (issue 25's guard) before anything reached
        # the cap. She says yes, and the cap refuses it.
        asking = [
            page
            for page in (first, second)
            if page.get_by_role("button", name="Yes, run another").count() == 1
        ]
        assert len(asking) == 1, "the other request was refused or asked about"
        asking[0].get_by_role("button", name="Yes, run another").click()
        asking[0].get_by_text(CAP_SHOWN).wait_for(timeout=UI_TIMEOUT_MS)
        refused = asking
    assert len(refused) == 1, "exactly one of her two requests is refused by the cap"
    (other,) = refused
    assert other.get_by_text("Your runs are under My runs: cancel one there").count() == 1
    (alices_run,) = _runs_of(database, "alice", provider.issuer)  # the refusal wrote no row
    assert alices_run.task == "spin" and alices_run.status in ("queued", "running")

    # Bob, another person, gets group A's other slot while her run holds the first.
    _start_matmul(bobs, signing_in_server, QUICK)
    bobs.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    assert bobs.get_by_text(CAP_SHOWN).count() == 0
    assert [run.status for run in _runs_of(database, "bob", provider.issuer)] == ["succeeded"]
    assert [run.status for run in _runs_of(database, "alice", provider.issuer)] in (
        ["queued"],
        ["running"],
    )

    # My runs in the browser she was refused in lists the run the other one started;
    # she cancels it there.
    other.goto(f"{signing_in_server.url}/my_runs")  # not idle: it watches her active run
    other.get_by_text("Runs requested by Alice Example").wait_for(timeout=UI_TIMEOUT_MS)
    other.get_by_role("button", name=re.compile(r"^Cancel .* · Test task spin · ")).click()
    wait_for_runs(database, lambda rows: rows[alices_run.id].status == "cancelled", "cancelled")
    other.get_by_text("Open a finished run").wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(other, UI_TIMEOUT_MS)
    assert _listed_runs(other) == ["cancelled"]
    _open(bobs, signing_in_server, "my_runs")
    bobs.get_by_text("Runs requested by Bob Builder").wait_for(timeout=UI_TIMEOUT_MS)
    assert _listed_runs(bobs) == ["succeeded"], "bob sees none of alice's runs"
    for page in (first, second, bobs):
        assert page.locator('[data-testid="stException"]').count() == 0


def test_signing_out_leaves_a_guest(signing_in_server, provider, new_page):
    page = new_page()
    _sign_in(page, signing_in_server, provider, "bob")
    page.get_by_role("button", name="Sign out").click()
    # Streamlit also ends the session at the provider, which asks to confirm.
    page.wait_for_url(f"{provider.issuer}/**", timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{signing_in_server.url}/**", timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(re.compile(r"Guest [0-9a-f]{4}")).wait_for(timeout=UI_TIMEOUT_MS)
    sidebar.get_by_role("button", name="Sign in").wait_for(timeout=UI_TIMEOUT_MS)

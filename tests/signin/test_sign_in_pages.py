"""The pages under AppTest with ``st.user`` set as ``st.login`` sets it: admins, watchers, gate.

AppTest takes ``st.user`` from ``at.user``; these tests give it the claims a
provider's ID token carries, so the rules that the browser tests show once
end to end are checked here case by case, quickly.
"""

from __future__ import annotations

from sqlmodel import Session, select

from core.identity import owner_id
from core.ui import bootstrap
from db.models import AuditEvent, TaskRun
from tests.admin.apptest_admin import ADMIN_PAGE, choose_group, fill, save_edit, show_section
from tests.pages.helpers import SMALL_SETTINGS, TASK_PAGES, fill_form, press_run, recorded_runs
from tests.support.apptest import home, page_text, switch_to

ISSUER = "https://id.example.org"
ALICE = {
    "is_logged_in": True,
    "iss": ISSUER,
    "sub": "alice-1",
    "email": "alice@example.com",
    "name": "Alice Example",
}
BOB = {**ALICE, "sub": "bob-2", "email": "bob@example.com", "name": "Bob Builder"}
GUEST: dict[str, object] = {}


def _as(user: dict[str, object], page: str | None = None):
    at = home()
    at.user = dict(user)
    at.run()
    assert not at.exception, at.exception
    if page is not None:
        switch_to(at, page).run()
        assert not at.exception, at.exception
    return at


def _pages(at) -> list[str]:
    return [p.get("page_name", "") for p in at._registered_pages.values()]


def test_a_listed_admin_edits_groups_without_a_password_and_is_named_in_the_audit(
    apptest_app, monkeypatch
):
    monkeypatch.setenv("TASKGATE_ADMINS", "Alice@Example.com")
    at = _as(ALICE, ADMIN_PAGE)
    assert "admin:password" not in [w.key for w in at.text_input]
    assert "Signed in as **Alice Example**, an admin" in page_text(at)
    at = choose_group(show_section(at, "Groups"), "A")
    fill(at, "edit", limit=4)
    at = save_edit(at)
    assert not at.exception, at.exception
    assert bootstrap.started_app().occupancy.fresh()["A"].limit == 4
    with Session(bootstrap.started_app().engine) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.group_name == "A")).all()
    assert event.actor == "Alice Example (alice@example.com)"


def test_a_signed_in_person_who_is_not_listed_gets_no_admin_page_nor_password(
    apptest_app, monkeypatch
):
    monkeypatch.setenv("TASKGATE_ADMINS", "alice@example.com")
    at = _as(BOB)
    assert "Admin" not in str(_pages(at))
    assert "Signed in as **Bob Builder**" in page_text(at)


def test_a_guest_still_has_the_password_form(apptest_app, monkeypatch):
    monkeypatch.setenv("TASKGATE_ADMINS", "alice@example.com")
    at = _as(GUEST, ADMIN_PAGE)
    assert "admin:password" in [w.key for w in at.text_input]


def test_watching_guests_see_a_sentence_and_the_run_is_refused_even_if_sent(
    apptest_app, monkeypatch
):
    monkeypatch.setenv("TASKGATE_GUESTS", "watch")
    at = _as(GUEST, TASK_PAGES["matmul"])
    assert "Sign in to run tasks: guests here can look around" in page_text(at)
    (run,) = [button for button in at.button if button.label == "Run"]
    assert run.disabled
    # A Run that arrives anyway is refused where it is handled, not only by the greyed button:
    # here the form was drawn for alice, and the click comes once the session is a guest's.
    at = _as(ALICE, TASK_PAGES["matmul"])
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at.user = dict(GUEST)
    at = press_run(at)
    assert not at.exception, at.exception
    assert "Sign in to run tasks: guests cannot start runs here." in page_text(at)
    assert recorded_runs(bootstrap.started_app()) == []


def test_a_signed_in_person_runs_where_guests_only_watch(apptest_app, monkeypatch):
    monkeypatch.setenv("TASKGATE_GUESTS", "watch")
    at = _as(ALICE, TASK_PAGES["matmul"])
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.exception, at.exception
    (run,) = recorded_runs(bootstrap.started_app())
    assert (run.owner, run.status) == (owner_id(ISSUER, "alice-1"), "succeeded")


def test_no_guests_at_all_shows_only_the_sentence(apptest_app, monkeypatch):
    monkeypatch.setenv("TASKGATE_GUESTS", "none")
    at = _as(GUEST)
    assert [info.value for info in at.info] == [
        "Sign in to use Taskgate: this installation does not admit guests. "
        "Sign-in is not set up here, so guests cannot get in; ask whoever runs Taskgate."
    ]
    assert not at.title and not at.button
    with Session(bootstrap.started_app().engine) as session:
        assert session.exec(select(TaskRun)).all() == []


def test_a_broken_auth_section_is_a_sentence_not_a_traceback(apptest_app):
    at = home()
    at.user = dict(GUEST)
    at.secrets["auth"] = {"client_id": "taskgate"}  # no redirect_uri, secret or metadata URL
    # AppTest's first run has not chosen a page yet, so its widget ids (which
    # include the page) differ from every later run's: click on the second.
    at.run().run()
    (sign_in,) = [button for button in at.button if button.label == "Sign in"]
    at = sign_in.click().run()
    assert not at.exception, at.exception
    assert [error.value for error in at.error] == [
        "Sign-in is not set up correctly on this server, so it cannot start; "
        "the server's log says what is wrong."
    ]


def test_each_provider_section_gets_a_sign_in_button_and_client_kwargs_is_none(apptest_app):
    at = home()
    at.user = dict(GUEST)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_kwargs": {"timeout": 30},
        "google": {"client_id": "g", "client_secret": "s", "server_metadata_url": "https://g/"},
        "okta": {"client_id": "o", "client_secret": "s", "server_metadata_url": "https://o/"},
    }
    at.run()
    assert not at.exception, at.exception
    labels = [button.label for button in at.button if button.key.startswith("account:")]
    assert labels == ["Sign in with Google", "Sign in with Okta"]
    assert "Signing in keeps your runs with you across browsers" in page_text(at)

"""Driving the Admin page under AppTest: sign in, choose sections, fill the group forms."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from tests.support.apptest import ROOT, as_read, home

ADMIN_PAGE = str(ROOT / "pages" / "admin.py")
PASSWORD = "letmein-please"  # what the apptest_app fixture configures


def admin_page() -> AppTest:
    at = home().run()
    return at.switch_page(ADMIN_PAGE).run()


def sign_in(at: AppTest, password: str = PASSWORD) -> AppTest:
    at.text_input(key="admin:password").input(password)
    return at.button(key="FormSubmitter:admin-sign-in-Sign in").click().run()


def show_section(at: AppTest, section: str) -> AppTest:
    return at.segmented_control(key="admin:section").set_value(section).run()


def choose_group(at: AppTest, name: str) -> AppTest:
    return at.selectbox(key="admin:edit-choice").select(name).run()


def fill(at: AppTest, form: str, **fields: object) -> None:
    """Type into a form's fields (``form`` is "edit" or "create"); ``paused`` is a checkbox."""
    for field, value in fields.items():
        if field == "paused":
            box = at.checkbox(key=f"{form}:paused")
            box.check() if value else box.uncheck()
        else:
            at.text_input(key=f"{form}:{field}").input(str(value))


def save_edit(at: AppTest) -> AppTest:
    return at.button(key="FormSubmitter:admin:edit-form-Save changes").click().run()


def submit_create(at: AppTest) -> AppTest:
    return at.button(key="FormSubmitter:admin:create-form-Create group").click().run()


def sentence_below(at: AppTest, key: str) -> str | None:
    """The error shown right below the widget ``key`` (its slot), or None."""
    nodes = [node for node in at.main if not isinstance(node, Block)]
    for index, node in enumerate(nodes):
        if getattr(node, "key", None) == key:
            following = nodes[index + 1] if index + 1 < len(nodes) else None
            if following is not None and following.type == "error":
                return as_read(following.value)
            return None
    raise AssertionError(f"no widget with key {key!r} on the page")


def errors(at: AppTest) -> list[str]:
    return [as_read(error.value) for error in at.error]


def successes(at: AppTest) -> list[str]:
    return [as_read(success.value) for success in at.success]

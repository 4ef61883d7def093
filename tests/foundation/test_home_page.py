"""The home page renders under AppTest and lists the groups with their limits."""

from __future__ import annotations

from tests.support.apptest import as_read, home, page_text


def test_home_renders_and_lists_groups_a_and_b(apptest_app):
    at = home().run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "Taskgate lets many people share one GPU" in text
    assert "Group A" in text and "Group B" in text
    assert text.count("0 of 1 slot busy") == 2


def test_a_bad_setting_is_one_sentence_on_the_page(apptest_app, monkeypatch):
    monkeypatch.setenv("TASKGATE_DEFAULT_LIMIT", "many")
    at = home().run()
    assert not at.exception
    assert [as_read(error.value) for error in at.error] == [
        "Taskgate cannot start: TASKGATE_DEFAULT_LIMIT must be a whole number from 1 to 1024, "
        "not 'many'."
    ]

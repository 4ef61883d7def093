"""My runs' API tokens section: a token is shown once, listed with its times, and revoked."""

from __future__ import annotations

from sqlmodel import Session, select

from core.api.tokens import token_hash, token_person
from db.models import ApiToken
from tests.pages.helpers import open_page, started_app
from tests.support.apptest import as_read

MY_RUNS = "pages/my_runs.py"


def test_make_a_token_shown_once_then_revoke_it(apptest_app):
    at = open_page(MY_RUNS)
    at.text_input(key="taskgate.api_tokens.name").input("sweep notebook")
    at.button(key="FormSubmitter:taskgate.api_tokens.form-Make a token").click().run()
    assert not at.exception, at.exception
    (secret,) = [code.value for code in at.code]
    app = started_app()
    with Session(app.engine) as session:
        (row,) = session.exec(select(ApiToken)).all()
    assert (row.name, row.hash) == ("sweep notebook", token_hash(secret))
    assert secret not in row.hash
    person = token_person(app.engine, secret)
    assert person is not None and person.owner == row.owner

    at.button(key="taskgate.api_tokens.done").click().run()
    assert not [code.value for code in at.code]  # shown once
    at.button(key=f"taskgate.api_tokens.revoke.{row.id}").click().run()
    assert not at.exception, at.exception
    assert token_person(app.engine, secret) is None
    assert not [b for b in at.button if b.key == f"taskgate.api_tokens.revoke.{row.id}"]


def test_a_token_without_a_name_is_refused_with_a_sentence(apptest_app):
    at = open_page(MY_RUNS)
    at.button(key="FormSubmitter:taskgate.api_tokens.form-Make a token").click().run()
    assert [as_read(error.value) for error in at.error] == [
        "Give the token a name, e.g. the notebook or script that will use it."
    ]
    with Session(started_app().engine) as session:
        assert session.exec(select(ApiToken)).all() == []

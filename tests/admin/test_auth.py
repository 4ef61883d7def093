"""The admin password: configured or generated once, checked in constant time, throttled."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlmodel import Session, select

from core.auth import (
    ANONYMOUS,
    PASSWORD_HASH_SETTING,
    Actor,
    AdminAuth,
    LoginThrottle,
    NotAuthorized,
    SignInRefused,
    admin_password_hash,
    hash_password,
    require_admin,
)
from core.settings import SettingsError
from db.models import AppSetting


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _generated_password(caplog) -> str:
    [record] = [r for r in caplog.records if "generated an admin password" in r.getMessage()]
    return record.args[0]


def test_a_configured_clear_password_signs_in_and_a_wrong_one_does_not(engine):
    auth = AdminAuth(admin_password_hash(engine, "correct horse"))
    assert auth.sign_in("correct horse", "s1") == Actor("admin", is_admin=True)
    with pytest.raises(SignInRefused, match="That password is not right."):
        auth.sign_in("correct hors", "s1")
    with pytest.raises(SignInRefused):
        auth.sign_in("", "s1")


def test_a_configured_hash_is_used_as_it_is(engine):
    configured = hash_password("s3cret-pass")
    assert admin_password_hash(engine, configured) == configured
    assert AdminAuth(configured).sign_in("s3cret-pass", "s").is_admin


def test_a_broken_configured_hash_stops_start_up_with_a_sentence(engine):
    with pytest.raises(SettingsError, match="not a valid one"):
        admin_password_hash(engine, "$argon2id$v=19$garbage")


def test_without_a_password_the_first_start_generates_one_and_logs_it_once(engine, caplog):
    caplog.set_level(logging.INFO, logger="core.auth")
    stored_hash = admin_password_hash(engine, None)
    password = _generated_password(caplog)
    assert len(password) >= 20
    assert "TASKGATE_ADMIN_PASSWORD" in caplog.text and "python -m core.auth hash" in caplog.text
    with Session(engine) as session:
        values = [row.value for row in session.exec(select(AppSetting)).all()]
    assert values == [stored_hash] and stored_hash.startswith("$argon2id$")
    assert password not in stored_hash
    assert AdminAuth(stored_hash).sign_in(password, "s").is_admin

    caplog.clear()
    assert admin_password_hash(engine, None) == stored_hash  # the next start reuses it
    assert password not in caplog.text and "generated an admin password" not in caplog.text


def test_two_processes_starting_together_agree_on_one_generated_password(engine, caplog):
    caplog.set_level(logging.WARNING, logger="core.auth")
    barrier = threading.Barrier(2, timeout=10)
    results: list[str] = []

    def start() -> None:
        barrier.wait()
        results.append(admin_password_hash(engine, None))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2 and results[0] == results[1]
    with Session(engine) as session:
        assert session.get(AppSetting, PASSWORD_HASH_SETTING).value == results[0]
    # Only the password that was kept was shown, and it works.
    assert AdminAuth(results[0]).sign_in(_generated_password(caplog), "s").is_admin


def test_wrong_passwords_are_logged_without_the_password(engine, caplog):
    caplog.set_level(logging.INFO, logger="core.auth")
    auth = AdminAuth(hash_password("right-one"))
    with pytest.raises(SignInRefused):
        auth.sign_in("guess-number-1", "s1")
    assert "Admin sign-in failed" in caplog.text
    assert "guess-number-1" not in caplog.text and "right-one" not in caplog.text


def test_a_session_is_slowed_down_after_three_wrong_passwords():
    clock = FakeClock()
    auth = AdminAuth(hash_password("right-one"), LoginThrottle(clock=clock))
    for _ in range(3):
        with pytest.raises(SignInRefused, match="not right"):
            auth.sign_in("wrong", "s1")
    # The fourth try comes too soon: refused without even checking the (right) password.
    with pytest.raises(SignInRefused, match="Too many wrong passwords. Try again in 1 second."):
        auth.sign_in("right-one", "s1")
    # Another session is not held up by s1's mistakes.
    assert auth.sign_in("right-one", "s2").is_admin
    clock.now += 1.0
    with pytest.raises(SignInRefused, match="not right"):
        auth.sign_in("wrong", "s1")
    with pytest.raises(SignInRefused, match="Try again in 2 seconds"):
        auth.sign_in("right-one", "s1")
    clock.now += 2.0
    assert auth.sign_in("right-one", "s1").is_admin
    # Success forgives: the next mistake is free again.
    with pytest.raises(SignInRefused, match="not right"):
        auth.sign_in("wrong", "s1")


def test_many_failures_overall_space_out_every_attempt(caplog):
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, global_failures=5, global_spacing_s=2.0)
    auth = AdminAuth(hash_password("right-one"), throttle)
    for session in range(5):  # one guess per fresh session: no session backoff applies
        with pytest.raises(SignInRefused, match="not right"):
            auth.sign_in("wrong", f"attacker-{session}")
    with pytest.raises(SignInRefused, match="Try again in 2 seconds"):
        auth.sign_in("right-one", "admin-tab")
    assert "throttled" in caplog.text
    clock.now += 2.0
    assert auth.sign_in("right-one", "admin-tab").is_admin
    # Once the failures are old enough, nothing is spaced out any more.
    clock.now += throttle.global_window_s
    assert auth.sign_in("right-one", "admin-tab").is_admin
    assert auth.sign_in("right-one", "admin-tab").is_admin


@pytest.mark.parametrize("actor", [None, ANONYMOUS, Actor("admin"), Actor("mallory")])
def test_require_admin_refuses_anyone_but_an_admin(actor):
    with pytest.raises(NotAuthorized, match="Only an admin can do this"):
        require_admin(actor)

"""The admin password: configured or generated once, checked in constant time, throttled."""

from __future__ import annotations

import logging
import threading

import pytest
from argon2 import PasswordHasher
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
    auth = AdminAuth(admin_password_hash(engine, "correct horse battery"))
    assert auth.sign_in("correct horse battery", "s1") == Actor("admin", is_admin=True)
    with pytest.raises(SignInRefused, match="That password is not right."):
        auth.sign_in("correct horse batter", "s1")
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
    auth = AdminAuth(hash_password("right-one-please"))
    with pytest.raises(SignInRefused):
        auth.sign_in("guess-number-1", "s1")
    assert "Admin sign-in failed" in caplog.text
    assert "guess-number-1" not in caplog.text and "right-one-please" not in caplog.text


def test_a_session_is_slowed_down_after_three_wrong_passwords():
    clock = FakeClock()
    auth = AdminAuth(hash_password("right-one-please"), LoginThrottle(clock=clock))
    for _ in range(3):
        with pytest.raises(SignInRefused, match="not right"):
            auth.sign_in("wrong", "s1")
    # The fourth try comes too soon: refused without even checking the (right) password.
    with pytest.raises(SignInRefused, match="Too many wrong passwords. Try again in 1 second."):
        auth.sign_in("right-one-please", "s1")
    # Another session is not held up by s1's mistakes.
    assert auth.sign_in("right-one-please", "s2").is_admin
    clock.now += 1.0
    with pytest.raises(SignInRefused, match="not right"):
        auth.sign_in("wrong", "s1")
    with pytest.raises(SignInRefused, match="Try again in 2 seconds"):
        auth.sign_in("right-one-please", "s1")
    clock.now += 2.0
    assert auth.sign_in("right-one-please", "s1").is_admin
    # Success forgives: the next mistake is free again.
    with pytest.raises(SignInRefused, match="not right"):
        auth.sign_in("wrong", "s1")


def test_a_source_is_slowed_down_whichever_session_it_guesses_from():
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, source_free_failures=4)
    auth = AdminAuth(hash_password("right-one-please"), throttle)
    for session in range(4):  # one guess per fresh session: no session backoff applies
        with pytest.raises(SignInRefused, match="not right"):
            auth.sign_in("wrong", f"tab-{session}", "203.0.113.7")
    with pytest.raises(SignInRefused, match="Try again in 1 second"):
        auth.sign_in("wrong", "yet-another-tab", "203.0.113.7")
    # Another address is not held up by that one's guesses.
    assert auth.sign_in("right-one-please", "admin-tab", "198.51.100.2").is_admin
    clock.now += 1.0
    assert auth.sign_in("right-one-please", "tab-9", "203.0.113.7").is_admin


def test_many_failures_overall_space_out_the_failing_but_not_a_clean_session(caplog):
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, global_failures=5, global_spacing_s=2.0)
    auth = AdminAuth(hash_password("right-one-please"), throttle)
    for source in range(5):  # five addresses, one guess each: below every per-key backoff
        with pytest.raises(SignInRefused, match="not right"):
            auth.sign_in("wrong", f"attacker-{source}", f"203.0.113.{source}")
    with pytest.raises(SignInRefused, match="not right"):
        auth.sign_in("wrong", "attacker-0", "203.0.113.0")  # the one suspect slot, used
    with pytest.raises(SignInRefused, match="Try again in 2 seconds"):
        auth.sign_in("wrong", "attacker-1", "203.0.113.1")
    assert "throttled" in caplog.text
    # The admin, in a session and from an address that have not failed, gets in at once.
    assert auth.sign_in("right-one-please", "admin-tab", "198.51.100.2").is_admin
    clock.now += 2.0
    with pytest.raises(SignInRefused, match="not right"):
        auth.sign_in("wrong", "attacker-1", "203.0.113.1")
    # Once the failures are old enough, they are forgotten.
    clock.now += throttle.window_s + 1
    assert throttle.recent_failures() == 0
    assert auth.sign_in("right-one-please", "attacker-1", "203.0.113.1").is_admin


def test_a_right_password_gets_in_while_wrong_ones_arrive_continuously():
    """The issue's attack: guesses pour in from many sessions; the admin is not locked out."""
    cheap_hash = PasswordHasher(time_cost=1, memory_cost=1024).hash("right-one-please")
    auth = AdminAuth(cheap_hash, LoginThrottle(global_failures=5))
    stop = threading.Event()
    enough_failures = threading.Event()
    refusals: list[str] = []

    def guess(worker: int) -> None:
        attempt = 0
        while not stop.is_set():
            attempt += 1
            session = f"guesser-{worker}-{attempt % 3}"  # a few tabs per guesser
            try:
                auth.sign_in(f"guess-{attempt}", session, f"203.0.113.{worker}")
            except SignInRefused as refused:
                refusals.append(str(refused))
            if auth.throttle.recent_failures() >= 12:
                enough_failures.set()
            stop.wait(0.005)  # ~200 guesses/s per guesser at most, without hogging the CPU

    guessers = [threading.Thread(target=guess, args=(n,), daemon=True) for n in range(4)]
    for thread in guessers:
        thread.start()
    try:
        assert enough_failures.wait(timeout=60), "the guessers never got going"
        assert any("Too many wrong passwords" in r for r in refusals), "guessers not throttled"
        actor = auth.sign_in("right-one-please", "admin-tab", "198.51.100.2")
        assert actor.is_admin
        assert not stop.is_set()  # the guessing was still going on when the admin got in
    finally:
        stop.set()
        for thread in guessers:
            thread.join(timeout=30)


def test_a_short_clear_admin_password_stops_start_up_with_a_sentence(engine):
    with pytest.raises(SettingsError, match="at least 12 characters long \\(it has 1\\)"):
        admin_password_hash(engine, "a")
    with pytest.raises(SettingsError, match="at least 12 characters"):
        admin_password_hash(engine, "elevenchars")
    assert AdminAuth(admin_password_hash(engine, "twelve-chars")).sign_in("twelve-chars", "s")


@pytest.mark.parametrize("actor", [None, ANONYMOUS, Actor("admin"), Actor("mallory")])
def test_require_admin_refuses_anyone_but_an_admin(actor):
    with pytest.raises(NotAuthorized, match="Only an admin can do this"):
        require_admin(actor)

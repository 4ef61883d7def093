"""Who may change groups: the admin role, by identity or behind one password.

Two ways in. Where sign-in is set up, the people listed in
``TASKGATE_ADMINS`` are admins as soon as they are signed in
(``admin_actor``); the audit log then names them. For installs without
sign-in there is one admin password, only ever held as an argon2 hash:
``TASKGATE_ADMIN_PASSWORD`` may hold the password itself (at least
``MIN_PASSWORD_LENGTH`` characters) or (better) a hash made by
``python -m core.auth hash``. When it is not set, the first start generates a
strong password, stores its hash in ``app_setting`` and logs the password
once with how to change it; later starts reuse the stored hash and log
nothing secret.

Wrong passwords are slowed down per browser session, per source address and
overall (``LoginThrottle``), in a way that does not lock the real admin out
while someone guesses: only attempts from a session or an address that has
already failed are ever held back, so a right password typed in a session
that has not been guessing is checked at once. Refusing is the job of the
services too (``require_admin``): a hidden widget protects nothing.
"""

from __future__ import annotations

import getpass
import logging
import math
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from core.identity import Access, Person
from core.settings import SettingsError
from db.engine import session_scope
from db.models import AppSetting

log = logging.getLogger(__name__)

ADMIN_NAME = "admin"
MIN_PASSWORD_LENGTH = 12
PASSWORD_HASH_SETTING = "admin_password_hash"
_HASH_PREFIX = "$argon2"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Actor:
    """Whoever asks a service to do something; only an admin may change groups."""

    name: str
    is_admin: bool = False


ANONYMOUS = Actor("anonymous")


def admin_actor(person: Person, access: Access) -> Actor | None:
    """The admin Actor for a person listed in ``TASKGATE_ADMINS``, else None.

    The name is the person's name with their e-mail address, so the audit log
    tells two people with the same display name apart.
    """
    if not access.is_admin(person):
        return None
    shown = person.name
    if person.email and person.email != person.name:
        shown = f"{person.name} ({person.email})"
    return Actor(shown, is_admin=True)


class NotAuthorized(PermissionError):
    """A service was asked to do an admin's job by someone who is not signed in as one."""


def require_admin(actor: Actor | None) -> Actor:
    """Return ``actor`` if it is an admin; raise NotAuthorized otherwise."""
    if actor is None or not actor.is_admin:
        raise NotAuthorized("Only an admin can do this; sign in on the Admin page first.")
    return actor


class SignInRefused(Exception):
    """The sign-in did not succeed; ``str(error)`` is the sentence to show."""


# -- the password hash --------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def configured_password_hash(value: str) -> str:
    """The hash for a configured ``TASKGATE_ADMIN_PASSWORD``: itself if a hash, else hashed now."""
    if not value.startswith(_HASH_PREFIX):
        if len(value) < MIN_PASSWORD_LENGTH:
            raise SettingsError(
                f"TASKGATE_ADMIN_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters long "
                f"(it has {len(value)}); choose a longer one, or set it to a hash made with "
                "python -m core.auth hash."
            )
        log.warning(
            "TASKGATE_ADMIN_PASSWORD holds a clear password; consider storing its hash instead "
            "(python -m core.auth hash)."
        )
        return hash_password(value)
    try:
        extract_parameters(value)
    except InvalidHashError:
        raise SettingsError(
            "TASKGATE_ADMIN_PASSWORD starts like an argon2 hash but is not a valid one; "
            "make a new one with python -m core.auth hash."
        ) from None
    return value


def admin_password_hash(engine: Engine, configured: str | None) -> str:
    """The hash to check admin passwords against, generating a password on a first start."""
    if configured is not None:
        return configured_password_hash(configured)
    stored = _stored_hash(engine)
    if stored is not None:
        log.info("Admin password: using the generated one stored in the database.")
        return stored
    password = secrets.token_urlsafe(18)
    generated = hash_password(password)
    try:
        with session_scope(engine) as session:
            session.add(AppSetting(key=PASSWORD_HASH_SETTING, value=generated))
    except IntegrityError:
        # Another process starting at the same moment stored (and logged) its own.
        stored = _stored_hash(engine)
        if stored is None:
            raise
        return stored
    log.warning(
        "Taskgate generated an admin password, shown only this once: %s  -- "
        "to choose your own, set TASKGATE_ADMIN_PASSWORD to a password, or better to a hash "
        "made with `python -m core.auth hash`, and restart.",
        password,
    )
    return generated


def _stored_hash(engine: Engine) -> str | None:
    with session_scope(engine) as session:
        row = session.get(AppSetting, PASSWORD_HASH_SETTING)
        return None if row is None else row.value


# -- throttling ---------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last_at: float = 0.0


@dataclass
class LoginThrottle:
    """Decides how long a sign-in attempt must wait; it never sleeps itself.

    An attempt names its browser ``session`` and its ``source`` (the client's
    address, or None when unknown). Three rules, each of which only ever
    holds back attempts from a session or source that has already failed:

    * Per session: ``free_failures`` wrong passwords in a row cost nothing,
      then each further one doubles the wait (1 s, 2 s, 4 s … up to
      ``max_wait_s``).
    * Per source: the same after ``source_free_failures`` wrong passwords
      from one address within ``window_s``, whichever session sent them, so
      opening new tabs does not buy more guesses.
    * Overall: once ``global_failures`` wrong passwords fell within
      ``window_s``, attempts from failing sessions or sources anywhere are
      spaced at least ``global_spacing_s`` apart, so many addresses together
      are slowed down too.

    A session and source with no failures are never held back, however hard
    others are guessing: that is what keeps the real admin from being locked
    out. Entries older than ``window_s`` are forgotten, so a flood of
    one-guess sessions does not grow memory without end. Thread-safe.
    """

    free_failures: int = 3
    source_free_failures: int = 10
    max_wait_s: float = 300.0
    global_failures: int = 20
    window_s: float = 600.0
    global_spacing_s: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[str, _Failures] = field(default_factory=dict, repr=False)
    _sources: dict[str, _Failures] = field(default_factory=dict, repr=False)
    _recent: deque[float] = field(default_factory=deque, repr=False)
    _last_suspect_attempt: float | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def attempt(self, session: str, source: str | None = None) -> float:
        """Claim an attempt: 0 if it may go ahead now, else the seconds left to wait."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            by_session = self._sessions.get(session)
            by_source = self._sources.get(source) if source is not None else None
            if by_session is None and by_source is None:
                return 0.0
            wait = max(
                _backoff(by_session, self.free_failures, self.max_wait_s, now),
                _backoff(by_source, self.source_free_failures, self.max_wait_s, now),
            )
            under_attack = len(self._recent) >= self.global_failures
            if under_attack and self._last_suspect_attempt is not None:
                wait = max(wait, self._last_suspect_attempt + self.global_spacing_s - now)
            if wait <= 0:
                self._last_suspect_attempt = now
            return max(0.0, wait)

    def failed(self, session: str, source: str | None = None) -> int:
        """Count a wrong password; return how many in a row this session has had."""
        with self._lock:
            now = self.clock()
            keyed = [(self._sessions, session)]
            if source is not None:
                keyed.append((self._sources, source))
            for table, key in keyed:
                failures = table.setdefault(key, _Failures())
                failures.count += 1
                failures.last_at = now
            self._recent.append(now)
            return self._sessions[session].count

    def succeeded(self, session: str) -> None:
        """A right password forgives the session (not its source: others may share it)."""
        with self._lock:
            self._sessions.pop(session, None)

    def recent_failures(self) -> int:
        with self._lock:
            self._forget_old(self.clock())
            return len(self._recent)

    def _forget_old(self, now: float) -> None:
        horizon = now - self.window_s
        while self._recent and self._recent[0] < horizon:
            self._recent.popleft()
        for table in (self._sessions, self._sources):
            for key in [key for key, failures in table.items() if failures.last_at < horizon]:
                del table[key]


def _backoff(failures: _Failures | None, free: int, max_wait_s: float, now: float) -> float:
    """Seconds left of the doubling wait after ``free`` failures (0 when none is due)."""
    if failures is None or failures.count < free:
        return 0.0
    backoff = min(2.0 ** (failures.count - free), max_wait_s)
    return failures.last_at + backoff - now


# -- signing in ---------------------------------------------------------------


class AdminAuth:
    """Checks admin passwords against one hash, throttled, and hands out admin Actors."""

    def __init__(self, password_hash: str, throttle: LoginThrottle | None = None) -> None:
        self._hash = password_hash
        self.throttle = throttle or LoginThrottle()

    def sign_in(self, password: str, session: str, source: str | None = None) -> Actor:
        """The admin Actor if ``password`` is right; SignInRefused with a sentence otherwise.

        ``session`` identifies the browser session and ``source`` the client's
        address (None if unknown), for the throttle.
        """
        wait = self.throttle.attempt(session, source)
        if wait > 0:
            log.warning("Admin sign-in refused without checking: throttled for %.0f s more", wait)
            raise SignInRefused(f"Too many wrong passwords. Try again in {_seconds(wait)}.")
        if not self._matches(password):
            in_a_row = self.throttle.failed(session, source)
            log.warning(
                "Admin sign-in failed: wrong password (%d in a row in one session, "
                "%d in the last %.0f minutes overall)",
                in_a_row,
                self.throttle.recent_failures(),
                self.throttle.window_s / 60,
            )
            raise SignInRefused("That password is not right.")
        self.throttle.succeeded(session)
        log.info("Admin signed in")
        return Actor(ADMIN_NAME, is_admin=True)

    def _matches(self, password: str) -> bool:
        # argon2's verify compares in constant time; an empty password is just wrong.
        try:
            return bool(password) and _hasher.verify(self._hash, password)
        except VerificationError:
            return False
        except InvalidHashError:
            log.error("The stored admin password hash is not a valid argon2 hash")
            return False


def _seconds(wait: float) -> str:
    whole = max(1, math.ceil(wait))
    return "1 second" if whole == 1 else f"{whole} seconds"


def main(argv: list[str]) -> int:
    """``python -m core.auth hash``: print the hash of a password typed twice."""
    if argv != ["hash"]:
        print("usage: python -m core.auth hash", file=sys.stderr)
        return 2
    password = getpass.getpass("New admin password: ")
    if password != getpass.getpass("Again: "):
        print("The two passwords differ; nothing was made.", file=sys.stderr)
        return 1
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"Use at least {MIN_PASSWORD_LENGTH} characters.", file=sys.stderr)
        return 1
    print(hash_password(password))
    print("Set TASKGATE_ADMIN_PASSWORD to the line above and restart Taskgate.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Who a person is: a stable owner id, a name to show, and what they may do.

A run's ``owner``, a group's per-person cap and the audit log all name a
:class:`Person`. Three kinds exist:

* **Signed in through OpenID Connect** (``st.login``). The owner id is
  ``user:`` followed by 32 hex digits of SHA-256 over the provider's issuer
  and the subject, joined by a newline. The subject is the one claim a
  provider promises never to change or reuse for another person (a name or an
  e-mail address may change); the issuer keeps two providers' subjects
  apart; hashing keeps the id short and free of characters that need
  escaping wherever it is stored or logged.
* **Named by an authenticating proxy** (``server.trustedUserHeaders`` maps
  the proxy's headers into ``st.user`` without ``is_logged_in``). The proxy
  is the issuer, written ``trusted-header``; the subject is the ``sub``
  header if mapped, else the e-mail address.
* **A guest**: ``guest:`` and 32 random hex digits, kept in a cookie so that
  it is one identity per browser, shown as "Guest 4f2a" or the name the
  guest chose. A guest id proves nothing (anyone can type a cookie), so a
  guest is never an admin and guests may be limited by ``TASKGATE_GUESTS``.

Nothing here imports streamlit: ``person_from_user`` takes ``st.user`` as a
plain mapping, so the rules are tested without a server.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import GUEST_NAME_MAX, GuestProfile, utcnow

GUEST_PREFIX = "guest:"
USER_PREFIX = "user:"
PROXY_ISSUER = "trusted-header"

_GUEST_ID = re.compile(r"guest:[0-9a-f]{32}")


class NotAllowed(PermissionError):
    """This person may not do what they asked; ``str(error)`` is the sentence to show."""


@dataclass(frozen=True)
class Person:
    """Someone using Taskgate: ``owner`` is what is stored, ``name`` is what is shown."""

    owner: str
    name: str
    email: str | None = None
    subject: str | None = None

    @property
    def is_guest(self) -> bool:
        return self.owner.startswith(GUEST_PREFIX)


def owner_id(issuer: str, subject: str) -> str:
    """The stable owner id of the person ``subject`` at ``issuer``."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return f"{USER_PREFIX}{digest[:32]}"


def _claim(user: Mapping[str, Any], key: str) -> str | None:
    value = user.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def person_from_user(user: Mapping[str, Any], *, from_proxy: bool = False) -> Person | None:
    """The person ``st.user`` describes, or None when nobody is signed in.

    ``from_proxy`` says that the server maps a proxy's headers into
    ``st.user`` (``server.trustedUserHeaders`` is set); only then do an
    ``email`` or ``sub`` without ``is_logged_in`` name a person. A provider's
    ``email`` counts for admin matching only when the provider did not say it
    is unverified (``email_verified: false``): an address someone merely typed
    at the provider must not make them an admin here.
    """
    email = _claim(user, "email")
    name = _claim(user, "name")
    subject = _claim(user, "sub")
    if user.get("is_logged_in") is True:
        issuer = _claim(user, "iss")
        if issuer is None or subject is None:
            return None
        if user.get("email_verified") is False:
            email = None
        return Person(owner_id(issuer, subject), name or email or subject, email, subject)
    subject = subject or email
    if not from_proxy or subject is None:
        return None
    return Person(owner_id(PROXY_ISSUER, subject), name or email or subject, email, subject)


# -- guests -------------------------------------------------------------------


def new_guest_id() -> str:
    return f"{GUEST_PREFIX}{secrets.token_hex(16)}"


def is_guest_id(value: object) -> bool:
    """Whether ``value`` (say, a cookie a browser sent) is a well-formed guest id."""
    return isinstance(value, str) and _GUEST_ID.fullmatch(value) is not None


def guest_label(owner: str) -> str:
    """'Guest 4f2a': short enough to read, long enough to tell two guests apart."""
    return f"Guest {owner.removeprefix(GUEST_PREFIX)[:4]}"


def clean_guest_name(raw: str) -> str:
    """A guest's chosen name, tidied; ValueError with a sentence if it cannot be used."""
    name = " ".join(raw.split())
    if not name:
        raise ValueError("Type a name, or leave the field as it was.")
    if len(name) > GUEST_NAME_MAX:
        raise ValueError(f"Use at most {GUEST_NAME_MAX} characters for your name.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise ValueError("A name cannot hold control characters.")
    return name


def guest(owner: str, engine: Engine) -> Person:
    """The guest ``owner`` (a valid guest id), with the name they chose if any."""
    with session_scope(engine) as session:
        profile = session.get(GuestProfile, owner)
        chosen = None if profile is None else profile.display_name
    return Person(owner, chosen or guest_label(owner))


def set_guest_name(engine: Engine, owner: str, raw: str) -> str:
    """Store the name guest ``owner`` chose and return it; ValueError with a sentence if bad."""
    if not is_guest_id(owner):
        raise ValueError("Only a guest chooses a name here; a signed-in name comes from sign-in.")
    name = clean_guest_name(raw)
    with session_scope(engine) as session:
        profile = session.get(GuestProfile, owner)
        if profile is None:
            session.add(GuestProfile(owner=owner, display_name=name))
        else:
            profile.display_name = name
            profile.updated_at = utcnow()
    return name


# -- what a person may do -------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may run tasks and who is an admin: ``TASKGATE_GUESTS`` and ``TASKGATE_ADMINS``."""

    guests: str = "run"
    admins: frozenset[str] = frozenset()

    @classmethod
    def of(cls, guests: str, admins: Iterable[str]) -> Access:
        return cls(guests, frozenset(entry.strip() for entry in admins if entry.strip()))

    def guests_may_watch(self) -> bool:
        return self.guests != "none"

    def may_run(self, person: Person) -> bool:
        return not person.is_guest or self.guests == "run"

    def require_may_run(self, person: Person) -> None:
        """Raise NotAllowed with a sentence unless ``person`` may start runs."""
        if not self.may_run(person):
            raise NotAllowed("Sign in to run tasks: guests cannot start runs here.")

    def may_open_admin(self, person: Person) -> bool:
        """A guest may try the admin password; a signed-in person must be listed."""
        return person.is_guest or self.is_admin(person)

    def is_admin(self, person: Person) -> bool:
        """Listed by e-mail address (any case) or by exact subject; never a guest."""
        if person.is_guest:
            return False
        if person.subject is not None and person.subject in self.admins:
            return True
        emails = {entry.casefold() for entry in self.admins if "@" in entry}
        return person.email is not None and person.email.casefold() in emails

"""Who an API request is from: its bearer token, checked and throttled like the admin password.

A wrong token is a guess at a secret, so it is slowed down exactly as wrong
admin passwords are (``LoginThrottle``: per client address and overall, and
never a client that has not failed). A token whose owner is listed in
``TASKGATE_ADMINS`` acts as an admin (``admin_actor``), named in the audit
log as the pages name that person; a guest's token never does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from core.api.tokens import token_person
from core.auth import Actor, LoginThrottle, admin_actor
from core.identity import Access, Person

MISSING_TOKEN = (
    "Send your API token in the Authorization header as 'Bearer TOKEN'; "
    "make one on the My runs page."
)
WRONG_TOKEN = "That API token is not valid: it may have been revoked. Make a new one on My runs."


class Unauthorized(Exception):
    """The request names nobody; ``str()`` is the sentence, ``retry_after_s`` when throttled."""

    def __init__(self, sentence: str, retry_after_s: int | None = None) -> None:
        super().__init__(sentence)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Caller:
    """The person a token acts as, and their admin Actor if they are an admin."""

    person: Person
    admin: Actor | None


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def authenticate(
    engine: Engine, throttle: LoginThrottle, access: Access, header: str | None, source: str | None
) -> Caller:
    """The caller a request's ``Authorization`` header names, or Unauthorized with a sentence."""
    secret = bearer(header)
    if secret is None:
        raise Unauthorized(MISSING_TOKEN)
    session = f"api:{source}"
    wait = throttle.attempt(session, source)
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        unit = "second" if seconds == 1 else "seconds"
        raise Unauthorized(f"Too many wrong tokens. Try again in {seconds} {unit}.", seconds)
    person = token_person(engine, secret)
    if person is None:
        throttle.failed(session, source)
        raise Unauthorized(WRONG_TOKEN)
    throttle.succeeded(session)
    return Caller(person, admin_actor(person, access))

"""Personal API tokens: made and revoked by their owner, kept only as a hash.

A token is 32 random bytes (``tg_`` + URL-safe text); it is shown once and
only its SHA-256 is stored, which is enough for a secret that cannot be
guessed (no slow hash is needed, unlike a password people choose). A token
acts as the person who made it: the owner id, and the name, e-mail and
subject the admin check reads (core/identity.py ``Access.is_admin``), kept
as they were when it was made. A guest's token acts as that guest and is
never an admin's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from core.identity import Person
from db.engine import rows_matched, session_scope
from db.models import API_TOKEN_NAME_MAX, ApiToken, utcnow

TOKEN_PREFIX = "tg_"
LAST_USED_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token: a busy script does not write
on every request."""


class TokenRefused(ValueError):
    """A token could not be made or revoked; ``str(error)`` is the sentence to show."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner's list shows it (never the secret)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_token_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise TokenRefused("Give the token a name, e.g. the notebook or script that will use it.")
    if len(name) > API_TOKEN_NAME_MAX:
        raise TokenRefused(f"Use at most {API_TOKEN_NAME_MAX} characters for the token's name.")
    return name


def create_token(engine: Engine, person: Person, name: str) -> tuple[TokenInfo, str]:
    """A new token for ``person``: its list entry and the secret, to show once."""
    name = clean_token_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        row = ApiToken(
            owner=person.owner,
            name=name,
            hash=token_hash(secret),
            person_name=person.name,
            person_email=person.email,
            person_subject=person.subject,
        )
        session.add(row)
        session.flush()
        info = _info(row)
    return info, secret


def list_tokens(engine: Engine, owner: str) -> list[TokenInfo]:
    """``owner``'s tokens, newest first, revoked ones included (so the list explains itself)."""
    with Session(engine) as session:
        rows = session.exec(
            select(ApiToken)
            .where(ApiToken.owner == owner)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        ).all()
        return [_info(row) for row in rows]


def revoke_token(engine: Engine, owner: str, token_id: int) -> bool:
    """Revoke ``owner``'s token ``token_id``; False if it is not theirs or already revoked."""
    with session_scope(engine) as session:
        done = rows_matched(
            session.execute(
                update(ApiToken.__table__)
                .where(
                    ApiToken.__table__.c.id == token_id,
                    ApiToken.__table__.c.owner == owner,
                    ApiToken.__table__.c.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
        )
    return bool(done)


def token_person(engine: Engine, secret: str) -> Person | None:
    """The person a live token acts as, else None; notes when it was used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = token_hash(secret)
    with Session(engine) as session:
        row = session.exec(
            select(ApiToken).where(ApiToken.hash == digest, col(ApiToken.revoked_at).is_(None))
        ).first()
        if row is None:
            return None
        person = Person(row.owner, row.person_name, row.person_email, row.person_subject)
        token_id, last = row.id, row.last_used_at
    now = utcnow()
    if last is None or now - _aware(last) >= LAST_USED_EVERY:
        with session_scope(engine) as session:
            session.execute(
                update(ApiToken.__table__)
                .where(ApiToken.__table__.c.id == token_id)
                .values(last_used_at=now)
            )
    return person


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _info(row: ApiToken) -> TokenInfo:
    assert row.id is not None
    return TokenInfo(row.id, row.name, row.created_at, row.last_used_at, row.revoked_at)

"""Who a person is: stable owner ids, guests, names, and who may run or administer."""

from __future__ import annotations

import pytest

from core.auth import NotAuthorized, admin_actor, require_admin
from core.identity import (
    Access,
    NotAllowed,
    Person,
    guest,
    guest_label,
    is_guest_id,
    new_guest_id,
    owner_id,
    person_from_user,
    set_guest_name,
)
from core.settings import SettingsError, load_settings

ISSUER = "http://localhost:9400"


def _signed_in(sub: str, **claims: object) -> dict[str, object]:
    """``st.user`` after ``st.login``: the ID token's claims plus Streamlit's own keys."""
    return {"is_logged_in": True, "iss": ISSUER, "sub": sub, "provider": "default", **claims}


ALICE_TAB_1 = _signed_in("alice", email="alice@example.com", name="Alice", iat=1, nonce="n1")
ALICE_TAB_2 = _signed_in("alice", email="alice@example.com", name="Alice Liddell", iat=9)


def test_a_signed_in_person_has_one_owner_id_whatever_the_session_or_display_name():
    first, second = person_from_user(ALICE_TAB_1), person_from_user(ALICE_TAB_2)
    assert first is not None and second is not None
    assert first.owner == second.owner == owner_id(ISSUER, "alice")
    assert first.owner.startswith("user:") and len(first.owner) == len("user:") + 32
    assert (first.name, second.name) == ("Alice", "Alice Liddell")
    assert not first.is_guest
    # The same subject at another provider is someone else.
    elsewhere = person_from_user({**ALICE_TAB_1, "iss": "https://accounts.example.org"})
    assert elsewhere is not None and elsewhere.owner != first.owner


def test_the_shown_name_falls_back_to_the_email_then_the_subject():
    assert person_from_user(_signed_in("a1", email="a@example.com")).name == "a@example.com"
    assert person_from_user(_signed_in("a1")).name == "a1"


@pytest.mark.parametrize(
    "user",
    [
        {},
        {"is_logged_in": False},
        {"is_logged_in": True, "sub": "alice"},  # no issuer: not an ID token's claims
        {"is_logged_in": True, "iss": ISSUER, "sub": "  "},
        {"email": "alice@example.com"},  # keys like a proxy's, but no proxy is configured
    ],
)
def test_nobody_is_signed_in_without_an_issuer_and_subject_or_a_trusted_proxy(user):
    assert person_from_user(user) is None


def test_a_trusted_proxy_names_people_by_its_headers():
    by_email = person_from_user({"email": "bob@example.com", "name": None}, from_proxy=True)
    assert by_email == Person(
        owner_id("trusted-header", "bob@example.com"),
        "bob@example.com",
        "bob@example.com",
        "bob@example.com",
    )
    by_sub = person_from_user({"sub": "u-42", "email": "bob@example.com"}, from_proxy=True)
    assert by_sub is not None and by_sub.owner == owner_id("trusted-header", "u-42")
    # The proxy did not send the header (say, a request that bypassed it): a guest.
    assert person_from_user({"email": None}, from_proxy=True) is None


def test_guest_ids_are_random_well_formed_and_shown_short():
    one, two = new_guest_id(), new_guest_id()
    assert one != two and is_guest_id(one) and is_guest_id(two)
    assert guest_label(one) == f"Guest {one[len('guest:') :][:4]}"
    for forged in (None, "", "guest:", "guest:xyz", one.upper(), one + "0", "user:" + one[6:]):
        assert not is_guest_id(forged)


def test_a_guest_chooses_a_name_kept_in_the_database(engine):
    owner = new_guest_id()
    assert guest(owner, engine) == Person(owner, guest_label(owner))
    assert set_guest_name(engine, owner, "  Ada   Lovelace ") == "Ada Lovelace"
    assert guest(owner, engine).name == "Ada Lovelace"
    set_guest_name(engine, owner, "**Ada**")
    assert guest(owner, engine).name == "**Ada**"  # stored as typed; pages show it as text


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("   ", "Type a name"),
        ("x" * 41, "at most 40 characters"),
        ("Ada\x00", "control characters"),
        ("Ada\u202e", "control characters"),
    ],
)
def test_a_bad_guest_name_is_refused_with_a_sentence_and_changes_nothing(engine, typed, sentence):
    owner = new_guest_id()
    set_guest_name(engine, owner, "Ada")
    with pytest.raises(ValueError, match=sentence):
        set_guest_name(engine, owner, typed)
    assert guest(owner, engine).name == "Ada"


def test_only_a_guest_chooses_a_name_here(engine):
    with pytest.raises(ValueError, match="Only a guest"):
        set_guest_name(engine, owner_id(ISSUER, "alice"), "Mallory")


def test_guests_may_run_watch_or_nothing():
    guest_person = Person(new_guest_id(), "Guest 4f2a")
    alice = person_from_user(ALICE_TAB_1)
    assert Access.of("run", ()).may_run(guest_person)
    for policy in ("watch", "none"):
        access = Access.of(policy, ())
        assert not access.may_run(guest_person) and access.may_run(alice)
        with pytest.raises(NotAllowed, match="Sign in to run tasks"):
            access.require_may_run(guest_person)
    assert Access.of("watch", ()).guests_may_watch()
    assert not Access.of("none", ()).guests_may_watch()


def test_admins_are_listed_by_email_in_any_case_or_by_exact_subject():
    access = Access.of("run", ["ALICE@example.com", " u-7 "])
    alice = person_from_user(ALICE_TAB_1)
    by_subject = person_from_user(_signed_in("u-7"))
    bob = person_from_user(_signed_in("bob", email="bob@example.com", name="Bob"))
    assert access.is_admin(alice) and access.is_admin(by_subject)
    assert not access.is_admin(bob)
    assert not access.is_admin(person_from_user(_signed_in("U-7")))
    # An address the provider says it did not verify proves nothing.
    unverified = person_from_user({**ALICE_TAB_1, "sub": "other", "email_verified": False})
    assert not access.is_admin(unverified)
    # A guest is never an admin, whatever its name.
    assert not access.is_admin(Person(new_guest_id(), "alice@example.com", "alice@example.com"))


def test_a_listed_admin_acts_under_their_own_name_and_the_services_refuse_bob():
    access = Access.of("run", ["alice@example.com"])
    actor = admin_actor(person_from_user(ALICE_TAB_1), access)
    assert actor is not None and actor.is_admin
    assert actor.name == "Alice (alice@example.com)"
    bob = person_from_user(_signed_in("bob", email="bob@example.com", name="Bob"))
    assert admin_actor(bob, access) is None
    with pytest.raises(NotAuthorized):
        require_admin(admin_actor(bob, access))
    assert not access.may_open_admin(bob)
    assert access.may_open_admin(Person(new_guest_id(), "Guest 1234"))  # the password form


def test_the_guests_and_admins_settings_parse_or_stop_with_a_sentence():
    settings = load_settings({"TASKGATE_GUESTS": "Watch", "TASKGATE_ADMINS": "a@x.org, ,u-7"})
    assert (settings.guests, settings.admins) == ("watch", ("a@x.org", "u-7"))
    assert load_settings({}).guests == "run" and load_settings({}).admins == ()
    with pytest.raises(SettingsError, match="TASKGATE_GUESTS must be 'run' or 'watch' or 'none'"):
        load_settings({"TASKGATE_GUESTS": "everyone"})
    with pytest.raises(SettingsError, match="TASKGATE_ADMINS is set but lists nobody"):
        load_settings({"TASKGATE_ADMINS": " , "})

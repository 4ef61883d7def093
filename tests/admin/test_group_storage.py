"""What reaches the database: checked settings and one group per name ignoring case.

Direct callers of GroupService (a script, another page) get the form's
sentences and write nothing; the name's uniqueness is the database's own
rule (``name_key``, Python's ``casefold()``), so two admins racing cannot
both win, and any constraint the database enforces comes back as a sentence.
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import math
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.groups import GroupService, GroupSettings, InvalidGroup
from db.models import ConcurrencyGroup
from tests.admin.support import ADMIN, audit_count, group_rows

MEGABYTE = "x" * 1_000_000

BAD_SETTINGS = {
    "fraction": ({"limit": 3.5}, "limit", "The limit must be a whole number, without a fraction."),
    "huge limit": ({"limit": 10**9}, "limit", "The limit must be from 1 to 1024 (not 1000000000)."),
    "text limit": ({"limit": "5"}, "limit", "The limit must be a whole number."),
    "nan": ({"limit": math.nan}, "limit", "The limit must be a whole number, written with digits."),
    "inf": ({"limit": math.inf}, "limit", "The limit must be a finite whole number."),
    "megabyte": (
        {"limit": 1, "description": MEGABYTE},
        "description",
        "The description can have at most 200 characters (this one has 1000000).",
    ),
    "control": (
        {"limit": 1, "description": "a\x1b[31mb"},
        "description",
        "The description cannot contain control characters such as line breaks.",
    ),
    "huge queue": (
        {"limit": 1, "max_queue": 10**12},
        "max_queue",
        "The queue cap can be at most 100,000; leave it empty for no cap.",
    ),
    "tiny timeout": (
        {"limit": 1, "queue_timeout_s": 1e-300},
        "queue_timeout_s",
        "The queue timeout must be at least 0.1 seconds (not 1e-300); "
        "leave it empty to wait without a limit.",
    ),
    "text paused": ({"limit": 1, "paused": "yes"}, "paused", "Paused must be yes or no."),
}


@pytest.mark.parametrize(("values", "field", "sentence"), BAD_SETTINGS.values(), ids=BAD_SETTINGS)
def test_a_direct_caller_gets_the_forms_sentence_and_nothing_is_written(
    groups, values, field, sentence
):
    before = group_rows(groups.engine)
    settings = GroupSettings(**values)
    attempts = [
        lambda: groups.service.create(ADMIN, "C", settings),
        lambda: groups.service.update(ADMIN, "A", settings, expected_version=1),
        lambda: groups.service.update(ADMIN, "A", settings, expected_version=1, new_name="Z"),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidGroup) as caught:
            attempt()
        assert caught.value.errors == {field: sentence}
    assert group_rows(groups.engine) == before and audit_count(groups.engine) == 0
    assert groups.snapshot()["A"].limit == 1


def test_whole_floats_from_code_are_stored_as_whole_numbers(groups):
    record = groups.service.create(ADMIN, "C", GroupSettings(limit=2.0, max_queue=5.0))
    assert (record.settings.limit, record.settings.max_queue) == (2, 5)
    assert isinstance(record.settings.limit, int)


def _names(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(ConcurrencyGroup.name)).all())


def _create_together(service, names: tuple[str, ...]) -> list[object]:
    """Create one group per name on its own thread, all released at once; each outcome."""
    barrier = threading.Barrier(len(names), timeout=10)
    outcomes: list[object] = []

    def create(name: str) -> None:
        barrier.wait()
        try:
            outcomes.append(service.create(ADMIN, name, GroupSettings(limit=1)))
        except InvalidGroup as invalid:
            outcomes.append(invalid)

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == len(names), "a create neither succeeded nor said why"
    return outcomes


def test_two_admins_creating_one_name_in_two_cases_at_once_make_one_group(groups):
    """100 rounds of ``Äx`` and ``äx`` created together: the database lets one in each time."""
    rounds, duplicates, refusals = 100, 0, 0
    for _ in range(rounds):
        outcomes = _create_together(groups.service, ("Äx", "äx"))
        created = [o for o in outcomes if not isinstance(o, InvalidGroup)]
        refused = [o for o in outcomes if isinstance(o, InvalidGroup)]
        duplicates += len(created) - 1
        refusals += len(refused)
        for invalid in refused:
            assert invalid.errors["name"].startswith("There is already a group named ")
        (record,) = created
        groups.service.delete(ADMIN, record.name, record.version)
    assert duplicates == 0 and refusals == rounds
    assert _names(groups.engine) == ["A", "B"]


def test_the_database_refuses_a_duplicate_the_service_did_not_see_with_a_sentence(
    groups, monkeypatch
):
    """The loser of a race gets past the service's own check; the unique index stops it."""
    groups.service.create(ADMIN, "Äx", GroupSettings(limit=1))
    monkeypatch.setattr(GroupService, "_check_unique", staticmethod(lambda *args, **kw: None))
    before = group_rows(groups.engine)
    with pytest.raises(InvalidGroup) as caught:
        groups.service.create(ADMIN, "äX", GroupSettings(limit=1))
    assert caught.value.errors == {
        "name": "There is already a group named Äx (names count as the same whatever their case)."
    }
    with pytest.raises(InvalidGroup, match="There is already a group named Äx"):
        groups.service.rename(ADMIN, "B", "ÄX", expected_version=1)
    assert group_rows(groups.engine) == before


def test_names_that_fold_differently_are_different_groups(groups):
    """``İ`` folds to ``i̇`` (with a dot), not ``i``: both may exist, as Python compares them."""
    groups.service.create(ADMIN, "İ", GroupSettings(limit=1))
    groups.service.create(ADMIN, "i", GroupSettings(limit=2))
    groups.service.create(ADMIN, "Straße", GroupSettings(limit=1))
    with pytest.raises(InvalidGroup, match="There is already a group named Straße"):
        groups.service.create(ADMIN, "STRASSE", GroupSettings(limit=1))
    assert groups.service.get("i").settings.limit == 2
    assert groups.service.get("İ").settings.limit == 1


def test_an_edit_finds_its_own_group_and_never_another_case(groups):
    groups.service.create(ADMIN, "Äx", GroupSettings(limit=1))
    record = groups.service.update(ADMIN, "äX", GroupSettings(limit=3), expected_version=1)
    assert (record.name, record.settings.limit) == ("Äx", 3)
    assert groups.service.get("A").settings.limit == 1


def test_a_check_constraint_the_rules_missed_is_a_sentence_not_sql(groups, monkeypatch):
    """If the rules ever let through what a CHECK refuses, the admin still reads a sentence."""
    import core.groups.service as service_module

    monkeypatch.setattr(service_module, "check_settings", lambda settings: settings)
    with pytest.raises(InvalidGroup) as caught:
        groups.service.create(ADMIN, "C", GroupSettings(limit=0))
    assert caught.value.errors == {"limit": "The limit must be at least 1."}
    assert _names(groups.engine) == ["A", "B"]


def test_name_key_is_filled_for_rows_written_without_it(groups):
    with groups.engine.begin() as connection:
        connection.execute(text("DELETE FROM concurrency_group WHERE name = 'B'"))
    with Session(groups.engine) as session:
        session.add(ConcurrencyGroup(name="Ölfass", limit=1))
        session.commit()
        (key,) = session.exec(
            select(ConcurrencyGroup.name_key).where(ConcurrencyGroup.name == "Ölfass")
        ).all()
    assert key == "ölfass"


def test_a_group_inserted_by_hand_without_a_key_gets_one_and_can_be_edited(groups):
    """Hand-written SQL gets ``lower(name)`` from a trigger: duplicates are still refused."""
    insert = text(
        'INSERT INTO concurrency_group (name, "limit", paused, description, version, '
        "created_at, updated_at, updated_by) VALUES (:name, 1, false, '', 1, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'sql')"
    )
    with groups.engine.begin() as connection:
        connection.execute(insert, {"name": "Ölfass"})
    with pytest.raises(IntegrityError), groups.engine.begin() as connection:
        connection.execute(insert, {"name": "a"})
    assert "Ölfass" in groups.snapshot()  # read from the table: no reload needed
    record = groups.service.update(ADMIN, "ölfass", GroupSettings(limit=4), expected_version=1)
    assert (record.name, record.settings.limit) == ("Ölfass", 4)

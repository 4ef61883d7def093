"""GroupService: admins only, checked, versioned, audited, and applied to the queue at once."""

from __future__ import annotations

import threading

import pytest

from core.auth import NotAuthorized
from core.groups import (
    ConfirmationNeeded,
    GroupBusy,
    GroupNotFound,
    GroupSettings,
    InvalidGroup,
    StaleGroup,
)
from core.runs.held import RunEnded
from db.models import RunStatus
from tests.admin.support import ADMIN, ALICE, USER, audit_count, group_rows
from tests.support.runs import WAIT_S, SlotUser
from tests.worker.support import run_row

ONE = GroupSettings(limit=1)
THREE = GroupSettings(limit=3)


def _limit(groups, name: str) -> int:
    return groups.snapshot()[name].limit


def test_every_change_refuses_a_non_admin_and_writes_nothing(groups):
    service = groups.service
    before = group_rows(groups.engine)
    attempts = [
        lambda: service.create(USER, "C", ONE),
        lambda: service.update(USER, "A", THREE, 1),
        lambda: service.rename(USER, "A", "Z", 1),
        lambda: service.delete(USER, "A", 1, confirm=True),
        lambda: service.pause(USER, "A"),
        lambda: service.resume(USER, "A"),
        lambda: service.audit_log(USER),
    ]
    for attempt in attempts:
        with pytest.raises(NotAuthorized):
            attempt()
    assert group_rows(groups.engine) == before and audit_count(groups.engine) == 0
    assert _limit(groups, "A") == 1


def test_create_applies_at_once_and_is_audited(groups):
    record = groups.service.create(ADMIN, " C ", GroupSettings(limit=2, max_queue=5))
    assert (record.name, record.settings.limit, record.version, record.updated_by) == (
        "C",
        2,
        1,
        "admin",
    )
    snap = groups.snapshot()["C"]
    assert (snap.limit, snap.max_queue) == (2, 5)
    [entry] = groups.service.audit_log(ADMIN)
    assert (entry.actor, entry.action, entry.group) == ("admin", "create", "C")
    assert entry.change == "created with limit 2, queue cap 5"


@pytest.mark.parametrize("name", ["a", " B ", "b"])
def test_a_name_taken_in_another_case_is_refused(groups, name):
    before = group_rows(groups.engine)
    with pytest.raises(InvalidGroup) as caught:
        groups.service.create(ADMIN, name, ONE)
    assert caught.value.errors["name"].startswith("There is already a group named")
    assert group_rows(groups.engine) == before and audit_count(groups.engine) == 0


def test_non_ascii_names_are_compared_ignoring_case_too(groups):
    groups.service.create(ADMIN, "Äpfel", ONE)
    with pytest.raises(InvalidGroup, match="already a group named Äpfel"):
        groups.service.create(ADMIN, "äPFEL", ONE)


def test_raising_a_limit_admits_waiters_at_once(groups):
    holder = SlotUser(groups.app, "A", "u1")
    assert holder.granted.wait(WAIT_S)
    waiters = [SlotUser(groups.app, "A", f"u{i}") for i in (2, 3)]
    for waiter in waiters:
        assert waiter.queued.wait(WAIT_S)
    try:
        assert groups.snapshot()["A"].queued == 2
        record = groups.service.update(ADMIN, "A", THREE, expected_version=1)
        assert record.version == 2 and _limit(groups, "A") == 3
        for waiter in waiters:
            assert waiter.granted.wait(WAIT_S), "the raised limit did not admit the waiter"
        assert (groups.snapshot()["A"].running, groups.snapshot()["A"].queued) == (3, 0)
    finally:
        for user in (holder, *waiters):
            user.release()
    [entry] = groups.service.audit_log(ADMIN)
    assert (entry.action, entry.change) == ("update", "limit 1 → 3")


def test_a_save_based_on_an_old_version_is_refused_with_who_and_when(groups):
    alice_saved = groups.service.update(ALICE, "A", GroupSettings(limit=2), expected_version=1)
    with pytest.raises(StaleGroup) as caught:
        groups.service.update(ADMIN, "a", THREE, expected_version=1)
    at = alice_saved.updated_at
    assert str(caught.value) == (
        f"Group A was changed by alice at {at:%H:%M:%S} UTC; reload to see it."
    )
    assert groups.service.get("A").settings.limit == 2 and _limit(groups, "A") == 2
    assert audit_count(groups.engine) == 1


def test_two_admins_saving_at_the_same_moment_one_wins_one_is_told(groups):
    barrier = threading.Barrier(2, timeout=10)
    outcomes: dict[str, object] = {}

    def save(actor, limit):
        barrier.wait()
        try:
            outcomes[actor.name] = groups.service.update(
                actor, "A", GroupSettings(limit=limit), expected_version=1
            )
        except StaleGroup as stale:
            outcomes[actor.name] = stale

    threads = [
        threading.Thread(target=save, args=(actor, limit))
        for actor, limit in ((ADMIN, 2), (ALICE, 3))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stale = [o for o in outcomes.values() if isinstance(o, StaleGroup)]
    saved = [o for o in outcomes.values() if not isinstance(o, StaleGroup)]
    assert len(stale) == 1 and len(saved) == 1
    assert groups.service.get("A").settings.limit == saved[0].settings.limit
    assert groups.service.get("A").version == 2 and audit_count(groups.engine) == 1


def test_saving_nothing_new_writes_nothing(groups):
    record = groups.service.update(ADMIN, "A", ONE, expected_version=1)
    assert record.version == 1 and audit_count(groups.engine) == 0


def test_rename_of_an_idle_group_moves_it_in_the_queue(groups):
    record = groups.service.rename(ADMIN, "B", "Batch", expected_version=1)
    assert record.name == "Batch" and record.version == 2
    names = set(groups.snapshot())
    assert "Batch" in names and "B" not in names
    [entry] = groups.service.audit_log(ADMIN)
    assert (entry.action, entry.group, entry.change) == ("rename", "Batch", "name B → Batch")


def test_a_case_only_rename_is_allowed(groups):
    groups.service.create(ADMIN, "gpu", ONE)
    assert groups.service.rename(ADMIN, "gpu", "GPU", expected_version=1).name == "GPU"


def test_rename_is_refused_while_runs_use_the_group(groups):
    holder = SlotUser(groups.app, "A")
    assert holder.granted.wait(WAIT_S)
    try:
        with pytest.raises(GroupBusy, match="Group A has 1 running run; rename it once it is idle"):
            groups.service.rename(ADMIN, "A", "Alpha", expected_version=1)
    finally:
        holder.release()
    assert groups.service.get("A").version == 1 and audit_count(groups.engine) == 0


def test_rename_to_a_bad_or_taken_name_writes_nothing(groups):
    before = group_rows(groups.engine)
    with pytest.raises(InvalidGroup, match="cannot contain markup"):
        groups.service.rename(ADMIN, "A", "<b>A</b>", expected_version=1)
    with pytest.raises(InvalidGroup, match="already a group named B"):
        groups.service.rename(ADMIN, "A", "b", expected_version=1)
    assert group_rows(groups.engine) == before


def test_deleting_a_busy_group_needs_confirmation_then_turns_the_queue_away(groups):
    holder = SlotUser(groups.app, "A", "u1")
    assert holder.granted.wait(WAIT_S)
    waiter = SlotUser(groups.app, "A", "u2")
    assert waiter.queued.wait(WAIT_S)
    try:
        with pytest.raises(ConfirmationNeeded) as caught:
            groups.service.delete(ADMIN, "A", expected_version=1)
        assert str(caught.value) == (
            "Group A has 1 running run and 1 queued run. If you delete it, the queued requests "
            "are turned away with a message and the running ones finish."
        )
        assert groups.service.get("A").version == 1 and audit_count(groups.engine) == 0

        groups.service.delete(ADMIN, "A", expected_version=1, confirm=True)
        assert waiter.done.wait(WAIT_S)
        assert isinstance(waiter.error, RunEnded)
        assert str(waiter.error) == "Group A was removed while you were waiting."
        assert waiter.run_id is not None
        turned_away = run_row(groups.app, waiter.run_id)
        assert (turned_away.status, turned_away.error) == (
            RunStatus.REJECTED,
            "Group A was removed while you were waiting.",
        )
        assert not holder.done.is_set(), "the running run was cut short"
    finally:
        holder.release()
        waiter.release()
    assert holder.error is None
    assert holder.run_id is not None
    assert run_row(groups.app, holder.run_id).status == RunStatus.SUCCEEDED
    with pytest.raises(GroupNotFound):
        groups.service.get("A")
    [entry] = groups.service.audit_log(ADMIN)
    assert (entry.action, entry.group, entry.change) == ("delete", "A", "deleted")


def test_deleting_with_an_old_version_is_refused(groups):
    groups.service.pause(ALICE, "B")
    with pytest.raises(StaleGroup, match="Group B was changed by alice"):
        groups.service.delete(ADMIN, "B", expected_version=1)
    assert groups.service.get("B").settings.paused


def test_pause_and_resume_apply_at_once_in_one_call_each(groups):
    paused = groups.service.pause(ADMIN, "a")
    assert paused.settings.paused and paused.version == 2
    assert groups.snapshot()["A"].paused
    assert groups.service.pause(ADMIN, "A").version == 2  # already paused: nothing written
    resumed = groups.service.resume(ADMIN, "A")
    assert not resumed.settings.paused and resumed.version == 3
    assert not groups.snapshot()["A"].paused
    actions = [(e.action, e.change) for e in groups.service.audit_log(ADMIN)]
    assert actions == [("resume", "paused yes → no"), ("pause", "paused no → yes")]


def test_editing_a_group_that_is_gone_says_so(groups):
    with pytest.raises(GroupNotFound, match="There is no group named Nope any more"):
        groups.service.update(ADMIN, "Nope", ONE, expected_version=1)

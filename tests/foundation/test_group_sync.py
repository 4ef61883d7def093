"""The limiter follows the concurrency_group table: at once on refresh, within a poll otherwise."""

from __future__ import annotations

from sqlalchemy import text

from core.group_sync import GroupSync
from core.limiter import Limiter


def _limits(limiter: Limiter) -> dict[str, int]:
    return {config.name: config.limit for config in limiter.groups()}


def test_refresh_loads_every_group(engine):
    limiter = Limiter()
    GroupSync(engine, limiter).refresh()
    assert _limits(limiter) == {"A": 1, "B": 1}


def test_a_hand_edit_is_found_by_the_next_poll_and_an_idle_poll_changes_nothing(engine):
    limiter = Limiter()
    sync = GroupSync(engine, limiter)
    sync.refresh()
    assert sync.poll() is False
    with engine.begin() as connection:
        connection.execute(
            text('UPDATE concurrency_group SET "limit" = 4, version = version + 1 WHERE name = :n'),
            {"n": "A"},
        )
    assert sync.poll() is True
    assert _limits(limiter)["A"] == 4
    assert sync.poll() is False


def test_a_group_deleted_by_hand_is_removed_but_one_not_yet_stored_is_kept(engine):
    limiter = Limiter()
    sync = GroupSync(engine, limiter)
    sync.refresh()
    with limiter.slot("Fresh", owner="someone"):
        pass  # created on first use; the recorder has not stored it (there is none here)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM concurrency_group WHERE name = 'B'"))
    assert sync.poll() is True
    assert set(_limits(limiter)) == {"A", "Fresh"}

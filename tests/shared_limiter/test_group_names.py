"""Group names beyond ASCII in the shared limiter: found by their case-folded key."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from core.limiter import GroupConfig
from db.models import ConcurrencyGroup


def _rows(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = select(ConcurrencyGroup.name, ConcurrencyGroup.name_key)
            return list(connection.execute(query.order_by(ConcurrencyGroup.id)).all())
    finally:
        engine.dispose()


def test_a_group_created_on_first_use_with_a_non_ascii_name_works(make_shared, database_url):
    limiter = make_shared(default_limit=2)
    with limiter.slot("Äb") as run:
        assert run.group == "Äb"
        assert limiter.snapshot()["Äb"].running == 1
    with limiter.slot("äB"):  # the same group, whatever the case
        pass
    assert limiter.snapshot()["Äb"].running == 0
    assert _rows(database_url) == [("Äb", "äb")]


def test_configure_and_remove_find_a_non_ascii_group_in_any_case(make_shared, database_url):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="Öl", limit=3))
    limiter.configure(GroupConfig(name="Öl", limit=4))
    assert limiter.snapshot()["Öl"].limit == 4
    limiter.remove("öL")
    assert _rows(database_url) == []

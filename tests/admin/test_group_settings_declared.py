"""Every layer takes a group's settings from the one declaration (core/limiter/config.py).

A setting added there reaches the rules, the form, the audit log and the
snapshots by itself; its database column is declared in db/models.py
(db does not import core), and this test fails until it is.
"""

from __future__ import annotations

from dataclasses import MISSING, fields

from core.groups import clean_settings
from core.groups.audit import describe_change
from core.limiter import GroupSnapshot
from core.limiter.config import SETTINGS, GroupSettings
from core.ui.admin.group_form import FIELDS
from db.models import ConcurrencyGroup
from tests.admin.support import ADMIN

COLUMNS = ConcurrencyGroup.__table__.c


def test_every_declared_setting_has_its_column():
    for setting in SETTINGS:
        assert setting.name in COLUMNS, f"db/models.py has no column for {setting.name}"
        column = COLUMNS[setting.name]
        assert column.nullable == setting.optional, setting.name
        if setting.default not in (MISSING, None):
            assert column.default is not None and column.default.arg == setting.default


def test_the_form_the_rules_and_the_snapshot_cover_every_setting():
    names = [setting.name for setting in SETTINGS]
    assert FIELDS == ("name", *names)
    assert set(clean_settings({"limit": "1"}).as_dict()) == set(names)
    snapshot_fields = {spec.name for spec in fields(GroupSnapshot)}
    assert set(names) <= snapshot_fields
    assert [spec.name for spec in fields(GroupSettings)] == names


def test_the_audit_log_names_each_setting_as_declared():
    before = {"name": "A", "limit": 1, "max_queue": None, "queue_timeout_s": 5.0}
    after = {"name": "A", "limit": 2, "max_queue": 3, "queue_timeout_s": None}
    assert describe_change(before, after) == (
        "limit 1 → 2; queue cap no cap → 3; queue timeout 5 s → no timeout"
    )


def test_a_snapshot_carries_every_setting_of_its_config(groups):
    settings = GroupSettings(limit=2, max_run_s=30.0, description="big")
    groups.service.update(ADMIN, "A", settings, expected_version=1)
    snapshot = groups.snapshot()["A"]
    for setting in SETTINGS:
        assert getattr(snapshot, setting.name) == getattr(settings, setting.name), setting.name

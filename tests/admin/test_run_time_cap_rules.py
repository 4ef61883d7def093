"""The run-time cap is a group setting like the others: checked with a sentence, audited."""

from __future__ import annotations

import pytest

from core.auth import Actor
from core.groups import InvalidGroup, clean_settings
from core.groups.audit import describe_change


def test_empty_means_no_cap_and_a_number_is_seconds():
    assert clean_settings({"limit": "1", "max_run_s": ""}).max_run_s is None
    assert clean_settings({"limit": "1", "max_run_s": "90"}).max_run_s == 90.0


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ("0", "The run-time cap must be more than 0 seconds"),
        ("-5", "The run-time cap must be more than 0 seconds"),
        ("soon", "The run-time cap must be a number"),
        ("99999999", "The run-time cap can be at most"),
    ],
)
def test_a_bad_cap_gets_a_sentence(raw, sentence):
    with pytest.raises(InvalidGroup) as refused:
        clean_settings({"limit": "1", "max_run_s": raw})
    assert refused.value.errors["max_run_s"].startswith(sentence)


def test_setting_a_cap_is_audited(app):
    service = app.groups()
    admin = Actor("alice", is_admin=True)
    record = service.get("A")
    settings = clean_settings({"limit": "1", "max_run_s": "2"})
    updated = service.update(admin, "A", settings, record.version)
    assert updated.settings.max_run_s == 2.0
    [entry] = [e for e in service.audit_log(admin) if e.action == "update"]
    assert "run-time cap no cap → 2 s" in entry.change


def test_an_action_on_a_run_reads_as_one_line():
    about = {"run": "0123456789abcdef", "task": "sleepy", "owner": "ann"}
    line = describe_change({**about, "status": "running"}, {**about, "status": "cancelling"})
    assert line == "run 01234567 (sleepy) of ann: running → cancelling"

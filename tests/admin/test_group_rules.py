"""Raw form input becomes a clean group, or one sentence per wrong field."""

from __future__ import annotations

import pytest

from core.groups import GroupSettings, InvalidGroup, clean_form, clean_name, clean_settings

GOOD = {"limit": "2", "max_queue": "", "queue_timeout_s": "", "per_owner_limit": ""}


def _errors(**form) -> dict[str, str]:
    with pytest.raises(InvalidGroup) as caught:
        clean_form({"name": "A", **GOOD, **form})
    return caught.value.errors


def test_a_good_form_becomes_settings_with_empty_meaning_no_cap():
    name, settings = clean_form(
        {"name": "  Gruppe Äpfel_2.b ", **GOOD, "description": " big jobs ", "paused": True}
    )
    assert name == "Gruppe Äpfel_2.b"
    assert settings == GroupSettings(limit=2, paused=True, description="big jobs")


def test_numbers_may_come_as_text_or_numbers():
    settings = clean_settings(
        {"limit": 3, "max_queue": " 0 ", "queue_timeout_s": "2.5", "per_owner_limit": 1.0}
    )
    assert (settings.limit, settings.max_queue, settings.queue_timeout_s) == (3, 0, 2.5)
    assert settings.per_owner_limit == 1


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ("", "Give the group a name."),
        ("   ", "Give the group a name."),
        (None, "Give the group a name."),
        ("x" * 65, "at most 64 characters (this one has 65)"),
        ("<b>A</b>", "cannot contain markup"),
        ("A&B", "cannot contain markup"),
        ("**A**", "cannot contain markup"),
        ("A\tB", "control or invisible characters"),
        ("A\nB", "control or invisible characters"),
        ("A\x00", "control or invisible characters"),
        ("A\u200bB", "control or invisible characters"),
        ("A\u202eB", "control or invisible characters"),
        ("GPU 🚀", "only letters, digits, spaces and - _ ."),
        ("a/b", "only letters, digits, spaces and - _ ."),
    ],
)
def test_bad_names_get_a_sentence(raw, sentence):
    with pytest.raises(InvalidGroup) as caught:
        clean_name(raw)
    assert list(caught.value.errors) == ["name"]
    assert sentence in caught.value.errors["name"]


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ("", "Give the group a limit: a whole number from 1 to 1024."),
        ("0", "The limit must be from 1 to 1024 (not 0)."),
        ("-3", "The limit must be from 1 to 1024 (not -3)."),
        ("1025", "The limit must be from 1 to 1024 (not 1025)."),
        ("99999999999999999999999", "The limit is far too large."),
        ("2.5", "The limit must be a whole number, without a fraction."),
        ("abc", "The limit must be a whole number, written with digits."),
        ("NaN", "The limit must be a whole number, written with digits."),
        (float("nan"), "The limit must be a whole number, written with digits."),
        ("inf", "The limit must be a finite whole number."),
        ("-Infinity", "The limit must be a finite whole number."),
        ("١٢", "The limit must be a whole number, written with digits."),
        ("1_0", "The limit must be a whole number, written with digits."),
        ("1_000.0", "The limit must be a whole number, written with digits."),
        (True, "The limit must be a whole number."),
    ],
)
def test_bad_limits_get_a_sentence(raw, sentence):
    assert _errors(limit=raw) == {"limit": sentence}


@pytest.mark.parametrize(
    ("field", "raw", "sentence"),
    [
        ("max_queue", "-1", "The queue cap cannot be negative (not -1)"),
        ("max_queue", "1.5", "The queue cap must be a whole number, without a fraction."),
        ("max_queue", "1000001", "The queue cap can be at most 100,000"),
        ("queue_timeout_s", "0", "The queue timeout must be at least 0.1 seconds (not 0)"),
        ("queue_timeout_s", "-5", "The queue timeout must be at least 0.1 seconds (not -5)"),
        (
            "queue_timeout_s",
            "1e-300",
            "The queue timeout must be at least 0.1 seconds (not 1e-300)",
        ),
        ("queue_timeout_s", "0.05", "The queue timeout must be at least 0.1 seconds (not 0.05)"),
        ("queue_timeout_s", "nan", "The queue timeout must be a number, written with digits."),
        ("queue_timeout_s", "1_0", "The queue timeout must be a number, written with digits."),
        ("max_queue", "1_0", "The queue cap must be a whole number, written with digits."),
        ("queue_timeout_s", "inf", "The queue timeout must be a finite number."),
        ("per_owner_limit", "0", "The limit per person must be from 1 to 1024 (not 0)"),
        (
            "description",
            "x" * 201,
            "The description can have at most 200 characters (this one has 201)",
        ),
        ("description", "a\nb", "The description cannot contain control characters"),
    ],
)
def test_bad_optional_fields_get_a_sentence(field, raw, sentence):
    errors = _errors(**{field: raw})
    assert list(errors) == [field]
    assert errors[field].startswith(sentence)


def test_every_bad_field_is_reported_at_once():
    errors = _errors(name="", limit="0", max_queue="-1", queue_timeout_s="0", per_owner_limit="x")
    assert set(errors) == {"name", "limit", "max_queue", "queue_timeout_s", "per_owner_limit"}

"""Settings come from the environment, then secrets; a bad value is one clear sentence."""

from __future__ import annotations

import pytest

from core.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings


def test_defaults_use_the_embedded_sqlite_file():
    settings = load_settings({})
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL.endswith("data/taskgate.db")
    assert settings.default_limit == 1
    assert settings.sample_interval_s == 1.0
    assert settings.retention_days == 7.0
    assert settings.admin_password is None


def test_environment_wins_over_secrets():
    settings = load_settings(
        {"TASKGATE_DEFAULT_LIMIT": "4"},
        {"TASKGATE_DEFAULT_LIMIT": 2, "TASKGATE_ADMIN_PASSWORD": "s3cret"},
    )
    assert settings.default_limit == 4
    assert settings.admin_password == "s3cret"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TASKGATE_DEFAULT_LIMIT", "0", "TASKGATE_DEFAULT_LIMIT must be a whole number from 1"),
        ("TASKGATE_DEFAULT_LIMIT", "two", "TASKGATE_DEFAULT_LIMIT must be a whole number from 1"),
        ("TASKGATE_DEFAULT_LIMIT", "1.5", "TASKGATE_DEFAULT_LIMIT must be a whole number"),
        ("TASKGATE_DEFAULT_LIMIT", "99999", "not 99999"),
        ("TASKGATE_SAMPLE_INTERVAL_S", "0", "TASKGATE_SAMPLE_INTERVAL_S must be a number greater"),
        ("TASKGATE_SAMPLE_INTERVAL_S", "nan", "TASKGATE_SAMPLE_INTERVAL_S must be a number"),
        ("TASKGATE_RETENTION_DAYS", "inf", "TASKGATE_RETENTION_DAYS must be a number"),
        ("TASKGATE_RETENTION_DAYS", "-1", "TASKGATE_RETENTION_DAYS must be a number"),
        ("TASKGATE_DATABASE_URL", "mysql://x", "TASKGATE_DATABASE_URL must be a SQLAlchemy URL"),
        ("TASKGATE_DATABASE_URL", "  ", "TASKGATE_DATABASE_URL is set but empty"),
        ("TASKGATE_ADMIN_PASSWORD", "", "TASKGATE_ADMIN_PASSWORD is set but empty"),
    ],
)
def test_a_bad_value_is_one_sentence_naming_the_variable(variable, value, expected):
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    message = str(caught.value)
    assert message.startswith(variable)
    assert expected in message
    assert message.endswith(".")
    assert "\n" not in message


def test_bad_secret_is_reported_like_a_bad_variable():
    with pytest.raises(SettingsError, match="TASKGATE_DEFAULT_LIMIT"):
        load_settings({}, {"TASKGATE_DEFAULT_LIMIT": "-2"})

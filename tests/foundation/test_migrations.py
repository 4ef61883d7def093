"""Migrations build the schema the models describe, and tear it down again."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import db.models  # noqa: F401
from db.migrate import ROOT, downgrade, upgrade
from tests.support.database import sqlite_url

TABLES = {
    "concurrency_group",
    "task_run",
    "occupancy_sample",
    "audit_event",
    "app_setting",
    "occupancy_minute",
    "guest_profile",
    "task_group",
    "run_result",
    "worker",
    "api_token",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def test_upgrade_then_downgrade_on_an_empty_file(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade(url)
    assert _tables(url) == TABLES
    downgrade(url)
    assert _tables(url) == set()
    upgrade(url)
    assert _tables(url) == TABLES


def test_models_agree_with_migrations(sqlite_url):
    assert _differences(sqlite_url) == []


def test_models_agree_with_migrations_on_postgres(postgres_url):
    assert _differences(postgres_url) == []


def test_new_database_has_groups_a_and_b_with_one_slot(sqlite_url):
    engine = create_engine(sqlite_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text('SELECT name, "limit", paused, version FROM concurrency_group ORDER BY name')
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("A", 1, 0, 1), ("B", 1, 0, 1)]


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(engine):
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_two_processes_migrating_at_once_both_succeed(tmp_path):
    url = sqlite_url(tmp_path)
    env = {"TASKGATE_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "db.migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60)[0].decode() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert _tables(url) == TABLES
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM concurrency_group")).scalar() == 2
    engine.dispose()


def test_the_file_and_its_folder_are_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'deeper' / 'taskgate.db'}"
    upgrade(url)
    assert (tmp_path / "new" / "deeper" / "taskgate.db").exists()

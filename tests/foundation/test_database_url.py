"""A database URL Taskgate cannot use stops it with one sentence, in the terminal and on the page.

Each case runs ``python -m db.migrate`` (what ``make migrate`` runs) as a
real process, and the app's entrypoint in AppTest: both must name
``TASKGATE_DATABASE_URL``, say what is wrong, and show no traceback.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from db.migrate import ROOT
from tests.support.apptest import as_read, home
from tests.support.database import postgres_base_url
from tests.support.optional import skip_unless_available


def _migrate(url: str, *args: str, env: dict[str, str] | None = None, module: str = "db.migrate"):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={"TASKGATE_DATABASE_URL": url, "PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _bad_urls(tmp_path) -> dict[str, tuple[str, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    return {
        "folder is a file": (
            f"sqlite:///{a_file}/taskgate.db",
            f"points at {a_file}/taskgate.db, but {a_file} is a file, not a folder",
        ),
        "a folder": (f"sqlite:///{tmp_path}", f"points at {tmp_path}, which is a folder"),
        "proc": ("sqlite:////proc/taskgate.db", "cannot create files in /proc"),
        "in memory": ("sqlite://", "names an in-memory SQLite database"),
        "memory file": ("sqlite:///:memory:", "names an in-memory SQLite database"),
        "no server": (
            "postgresql+psycopg://taskgate@127.0.0.1:1/taskgate",
            "names a PostgreSQL server at 127.0.0.1:1, but nothing answers there",
        ),
        "port not a number": (
            "postgresql+psycopg://taskgate@127.0.0.1:abc/taskgate",
            "has a port that is not a number ('abc')",
        ),
    }


CASES = ["folder is a file", "a folder", "proc", "in memory", "memory file", "no server",
         "port not a number"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_db_migrate_says_what_is_wrong_in_one_sentence(case, tmp_path):
    url, sentence = _bad_urls(tmp_path)[case]
    done = _migrate(url)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith("taskgate: TASKGATE_DATABASE_URL "), done.stderr
    assert sentence in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("case", CASES)
def test_the_page_says_what_is_wrong_in_one_sentence(case, tmp_path, apptest_app, monkeypatch):
    url, sentence = _bad_urls(tmp_path)[case]
    monkeypatch.setenv("TASKGATE_DATABASE_URL", url)
    at = home().run()
    assert not at.exception, at.exception
    (error,) = [as_read(error.value) for error in at.error]
    assert error.startswith("Taskgate cannot start: TASKGATE_DATABASE_URL ")
    assert sentence in error


def test_a_database_that_does_not_exist_is_named(tmp_path):
    base = postgres_base_url()
    skip_unless_available("postgres", base is not None, "set TASKGATE_TEST_POSTGRES_URL to run it")
    assert base is not None
    url = base.rsplit("/", 1)[0] + "/taskgate_no_such_database"
    done = _migrate(url)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done
    assert "names the database 'taskgate_no_such_database' on " in done.stderr
    assert "which does not exist; create it (createdb taskgate_no_such_database)" in done.stderr


def test_a_new_database_says_it_was_created_and_then_that_it_is_up_to_date(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'taskgate.db'}"
    first, second = _migrate(url), _migrate(url)
    assert (first.returncode, second.returncode) == (0, 0), (first, second)
    path = tmp_path / "new" / "taskgate.db"
    assert first.stdout.startswith(f"taskgate: created a new database at {path} and migrated it")
    assert second.stdout.startswith(f"taskgate: the database at {path} is up to date")


def test_make_runs_prepare_which_prints_a_generated_admin_password_once(tmp_path):
    """``python -m core.prepare`` runs before the server starts, so the password shows there."""
    url = f"sqlite:///{tmp_path / 'taskgate.db'}"
    first = _migrate(url, module="core.prepare")
    assert first.returncode == 0, first
    assert "Taskgate generated an admin password, shown only this once: " in first.stderr
    again = _migrate(url, module="core.prepare")
    assert again.returncode == 0 and "generated" not in again.stderr, again
    lost = _migrate(url, "new-admin-password", module="core.prepare")
    assert lost.returncode == 0 and "generated an admin password" in lost.stderr, lost
    password = first.stderr.split("shown only this once: ")[1].split()[0]
    assert password not in lost.stderr
    makefile = (ROOT / "Makefile").read_text()
    assert "\t$(PY) -m core.prepare\n\t$(PY) -m streamlit run" in makefile

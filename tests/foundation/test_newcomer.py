"""What a newcomer on a fresh clone sees: the commands, the skip reasons, the README."""

from __future__ import annotations

import re
import subprocess

from core.settings import PROJECT_ROOT


def test_make_test_prints_the_reason_of_every_skipped_test():
    """``-rs`` lists each skip with its reason, which says how to enable the test."""
    dry_run = subprocess.run(
        ["make", "-n", "test"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    (pytest_line,) = [line for line in dry_run.stdout.splitlines() if "-m pytest" in line]
    assert "-rs" in pytest_line.split()


def _readme() -> str:
    return (PROJECT_ROOT / "README.md").read_text()


def test_the_readme_answers_a_newcomers_first_questions():
    readme = _readme()
    assert "PORT=8502 make run" in readme
    assert "about 1.7 GB" in readme  # the first make run installs torch
    assert "python -m core.prepare new-admin-password" in readme
    assert "created a new database at" in readme
    for feature, how in (
        ("browser", "apt-get install -y chromium"),
        ("postgres", "TASKGATE_TEST_POSTGRES_URL="),
        ("gpu", "CUDA"),
    ):
        assert f"`{feature} is not available`" in readme and how in readme


def test_every_document_the_code_points_at_is_in_the_repository():
    """E.g. tests/support/browser.py once pointed at a testing guide that was never committed."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    documents = {name.rsplit("/", 1)[-1] for name in tracked}
    missing = [
        f"{name} mentions {document}"
        for name in tracked
        if name.endswith((".py", ".md"))
        for document in re.findall(r"\b([A-Z][A-Z_]+\.md)\b", (PROJECT_ROOT / name).read_text())
        if document not in documents
    ]
    assert missing == []

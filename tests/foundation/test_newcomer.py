"""What a newcomer on a fresh clone sees: the commands, the skip reasons, the README."""

from __future__ import annotations

import subprocess

from core.settings import PROJECT_ROOT


def test_make_test_prints_the_reason_of_every_skipped_test():
    """``-rs`` lists each skip with its reason, which says how to enable the test."""
    dry_run = subprocess.run(
        ["make", "-n", "test"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    (pytest_line,) = [line for line in dry_run.stdout.splitlines() if "-m pytest" in line]
    assert "-rs" in pytest_line.split()

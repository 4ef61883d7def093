"""Skip tests that need something a laptop may lack, unless CI says it is required.

CI sets ``TASKGATE_REQUIRE`` to a comma-separated list (``browser,postgres``);
a test needing a listed feature then fails instead of skipping, so a broken
CI machine cannot silently turn the suite green.
"""

from __future__ import annotations

import os

import pytest


def required(feature: str) -> bool:
    wanted = os.environ.get("TASKGATE_REQUIRE", "")
    return feature in {item.strip() for item in wanted.split(",")}


def skip_unless_available(feature: str, available: bool, how: str) -> None:
    """Skip (or, where required, fail) with a sentence that says how to enable the test."""
    if available:
        return
    message = f"{feature} is not available here: {how}"
    if required(feature):
        pytest.fail(f"{message} (required because TASKGATE_REQUIRE includes {feature!r})")
    pytest.skip(message)

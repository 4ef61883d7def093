"""Run ids."""

from __future__ import annotations

import random
import uuid


def new_run_id() -> str:
    """A random UUID hex: unique, not secret (``random`` avoids a GIL-releasing urandom call)."""
    return uuid.UUID(int=random.getrandbits(128), version=4).hex

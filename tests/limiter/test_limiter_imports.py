"""The in-process limiter stands alone: importing it loads no database code.

``core.limiter`` is the bottom layer (the contract, the policy, the
in-process backend); the shared backend and the app build on it. A fresh
interpreter shows what an import really pulls in, whatever this test
session has already loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

HANG_S = 60


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_S, check=True
    )
    return set(json.loads(result.stdout))


def _roots(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


def test_importing_the_limiter_loads_no_database_code():
    loaded = _modules_loaded_by("from core.limiter import *")
    assert not {"sqlalchemy", "sqlmodel", "psycopg", "db"} & _roots(loaded)
    assert not {"core.shared_limiter", "core.group_sync", "core.app"} & loaded


def test_the_shared_backend_on_sqlite_loads_no_psycopg():
    loaded = _modules_loaded_by("import core.shared_limiter")
    assert "sqlalchemy" in _roots(loaded)
    assert "psycopg" not in _roots(loaded)
    assert "core.group_sync" not in loaded

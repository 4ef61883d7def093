"""``python -m core.prepare``: what ``make run`` does before the server starts.

It migrates the database (printing one line that says what it did) and
makes sure there is an admin password. A password generated on a first
start is printed here, in the terminal that ran ``make run``, rather than
in the server log of the first browser visit, which a newcomer may never
see. ``python -m core.prepare new-admin-password`` replaces a generated
password that was lost (restart the server afterwards: running processes
keep the hash they read).
"""

from __future__ import annotations

import logging
import sys

from sqlalchemy import delete
from sqlmodel import col

from core.auth import PASSWORD_HASH_SETTING, admin_password_hash
from db.engine import get_engine, session_scope
from db.migrate import migrate_and_say
from db.models import AppSetting

USAGE = "usage: python -m core.prepare [new-admin-password]"


def main(argv: list[str]) -> int:
    if argv not in ([], ["new-admin-password"]):
        print(USAGE, file=sys.stderr)
        return 2
    logging.basicConfig(format="taskgate: %(message)s", level=logging.WARNING)
    settings = migrate_and_say()
    if settings is None:
        return 2
    engine = get_engine(settings.database_url)
    if argv == ["new-admin-password"]:
        if settings.admin_password is not None:
            print(
                "taskgate: TASKGATE_ADMIN_PASSWORD is set, so the admin password is the one it "
                "holds; change it there and restart Taskgate.",
                file=sys.stderr,
            )
            return 1
        with session_scope(engine) as session:
            session.execute(delete(AppSetting).where(col(AppSetting.key) == PASSWORD_HASH_SETTING))
    admin_password_hash(engine, settings.admin_password)  # logs a password it generates
    if argv == ["new-admin-password"]:
        print("taskgate: restart Taskgate for the new password to apply.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""AppTest helpers: scripts addressed from the project root, and text on the page."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

ROOT = Path(__file__).resolve().parents[2]
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_read(markdown: str) -> str:
    """What a person reads of Markdown written with ``plain()``: escapes and joiners gone."""
    return _ESCAPED.sub(r"\1", markdown.replace("\u2060", ""))


def home(timeout_s: float = 30) -> AppTest:
    """An AppTest of the entrypoint (run it, then ``switch_page`` to reach other pages)."""
    return AppTest.from_file(str(ROOT / "Home.py"), default_timeout=timeout_s)


def page_text(at: AppTest) -> str:
    """The markdown, captions, info, warnings and errors of the last run, one per line."""
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success]
    return "\n".join(as_read(str(element.value)) for element in parts)


def switch_to(at: AppTest, page: str) -> AppTest:
    """Switch to a page script ("pages/admin.py") or a task page by its URL path ("matmul").

    ``AppTest.switch_page`` takes files only. A task page is a function page, known
    (as a browser knows it) by the hash of its URL path, the task's key.
    """
    if page.endswith(".py"):
        return at.switch_page(page)
    at._page_hash = calc_hash(page)
    return at

"""``plain()``: outside text as Markdown that shows it literally (the browser test shows it)."""

from __future__ import annotations

import re

import pytest

from core.ui.wording import plain
from tests.support.apptest import as_read

HOSTILE = [
    "**b**",
    "[x](javascript:alert(1))",
    ":red[r] :material/home: :smile:",
    "~~s~~ $y$ `c` <i>h</i> # heading",
    "1. not a list",
    "www.evil.example",
    "https://evil.example/path",
    "a@b.example",
    "back\\slash",
    "Äpfel & Birnen",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_reads_back_as_typed_and_leaves_nothing_to_link(text):
    markdown = plain(text)
    assert as_read(markdown) == text
    # Every ASCII punctuation character is escaped, and the characters that GitHub's
    # autolinks match on (www. / scheme:// / user@host) are preceded by a word joiner.
    assert not re.search(r"(?<!\\)[*_~`\[\]()$<>#:]", markdown.replace("\\\\", ""))
    assert not re.search(r"www\.|://|\w@", markdown)

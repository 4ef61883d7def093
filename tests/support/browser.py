"""Headless Debian Chromium driven by Playwright (README.md, section "Tests").

Playwright's own browser download needs the internet, so the tests launch
Debian's ``/usr/bin/chromium``. The flags let it run as root in a container
(``--no-sandbox``, ``--disable-gpu``) and keep it from calling home
(``--disable-background-networking`` and the rest), which on a machine
without internet access would only add delays.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.optional import skip_unless_available

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def require_browser() -> None:
    try:
        import playwright  # noqa: F401

        have_playwright = True
    except ImportError:
        have_playwright = False
    skip_unless_available(
        "browser",
        have_playwright and shutil.which("chromium") is not None,
        "install Debian's chromium (apt-get install -y chromium) and the dev requirements",
    )


@contextmanager
def chromium() -> Iterator:
    """A launched Chromium browser (Playwright ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


APP_IDLE_TIMEOUT_MS = 120_000
"""A first page load starts the app (torch, migrations) and may take a minute on a busy
machine; longer than this is a hang."""


def wait_for_app_idle(page, timeout_ms: int = APP_IDLE_TIMEOUT_MS) -> None:
    """Wait until the script run has finished and the app is not busy."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )


def as_shown(sentence: str) -> re.Pattern[str]:
    """``sentence`` as the page shows text written with ``plain()``, for ``get_by_text``.

    ``plain()`` puts an invisible word joiner (U+2060) before each ``.``, ``:``
    and ``@`` so that Markdown makes no link of them; a person does not see it,
    but the DOM's text has it.
    """
    return re.compile("".join(("\u2060?" if c in ".:@" else "") + re.escape(c) for c in sentence))

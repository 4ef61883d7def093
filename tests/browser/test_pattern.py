"""The text-to-image task end to end in a real browser on the CPU: type, Run, see, download."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.support.browser import wait_for_app_idle

pytestmark = pytest.mark.browser

UI_TIMEOUT_MS = 60_000


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_a_prompt_becomes_a_picture_that_downloads_as_png(server, browser, tmp_path, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server.url}/pattern")
    wait_for_app_idle(page)
    page.get_by_role("textbox", name="Prompt").fill("lighthouse in fog")
    page.get_by_role("spinbutton", name="Size (pixels)").fill("256")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("“lighthouse in fog”, flow").wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / f"pattern-{width}.png"), full_page=True)

    with page.expect_download(timeout=UI_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Download PNG").click()
    download = download_info.value
    assert download.suggested_filename == "lighthouse-in-fog.png"
    picture = np.asarray(Image.open(io.BytesIO(download.path().read_bytes())))
    assert picture.shape == (256, 256, 3) and picture.std() > 5
    context.close()

"""Behind an authenticating proxy: its user headers, mapped into st.user, name the person.

The test plays the proxy's part by sending the headers oauth2-proxy sends
(``X-Forwarded-User``, ``X-Forwarded-Email``, ``X-Forwarded-Preferred-Username``)
with every request of one browser, and none with another's.
"""

from __future__ import annotations

import json

import pytest

from tests.support.browser import wait_for_app_idle
from tests.support.server import streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

UI_TIMEOUT_MS = 60_000  # generous: a loaded CI machine; no test asserts a latency
OAUTH2_PROXY_HEADERS = {
    "X-Forwarded-User": "sub",
    "X-Forwarded-Email": "email",
    "X-Forwarded-Preferred-Username": "name",
}


def test_the_proxys_headers_sign_carol_in_and_make_her_an_admin(server_env, browser, tmp_path):
    env = {**server_env, "TASKGATE_ADMINS": "carol@example.com"}
    options = ("--server.trustedUserHeaders", json.dumps(OAUTH2_PROXY_HEADERS))
    with streamlit_server(tmp_path, env, options=options) as server:
        carol = browser.new_context(
            viewport={"width": 1280, "height": 900},
            extra_http_headers={
                "X-Forwarded-User": "8d1c0e4f",
                "X-Forwarded-Email": "carol@example.com",
                "X-Forwarded-Preferred-Username": "carol",
            },
        ).new_page()
        carol.goto(f"{server.url}/admin")
        wait_for_app_idle(carol, UI_TIMEOUT_MS)
        sidebar = carol.get_by_test_id("stSidebar")
        sidebar.get_by_text("Signed in as carol").wait_for(timeout=UI_TIMEOUT_MS)
        # She signs out at the proxy, not here.
        assert sidebar.get_by_role("button", name="Sign out").count() == 0
        carol.get_by_text("an admin; changes are logged in your name").wait_for(
            timeout=UI_TIMEOUT_MS
        )

        # A request without the headers (one that did not come through the proxy) is a guest's.
        stranger = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        stranger.goto(server.url)
        wait_for_app_idle(stranger, UI_TIMEOUT_MS)
        stranger.get_by_test_id("stSidebar").get_by_text("guest in this browser").wait_for(
            timeout=UI_TIMEOUT_MS
        )

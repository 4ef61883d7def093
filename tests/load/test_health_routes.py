"""``/healthz`` and ``/readyz`` on a real server: the database goes away and comes back.

The server's PostgreSQL connection goes through a TCP proxy the test cuts
(refusing new connections and dropping open ones, as a stopped server
would) and restores.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy.engine import make_url

from tests.support.server import streamlit_server
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(600)

TURN_TIMEOUT_S = 60.0
"""Generous, not a bound on how fast /readyz turns: that only guards against it never turning."""


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _until(url: str, status: int) -> dict:
    deadline = time.monotonic() + TURN_TIMEOUT_S
    while True:
        code, body = _get(url)
        if code == status:
            return body
        assert time.monotonic() < deadline, f"{url} stayed {code}: {body}"
        time.sleep(0.5)  # polling another process


def test_readyz_turns_unready_when_the_database_goes_away_and_ready_when_it_is_back(
    postgres_url, tmp_path
):
    real = make_url(postgres_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.restore()
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {"TASKGATE_DATABASE_URL": proxied, "TASKGATE_ADMIN_PASSWORD": "letmein-please"}
    try:
        with streamlit_server(tmp_path, env) as server:
            assert _get(f"{server.url}/readyz") == (200, {"status": "ready"})
            assert _get(f"{server.url}/healthz") == (200, {"status": "ok"})

            proxy.cut()
            body = _until(f"{server.url}/readyz", 503)
            assert body["status"] == "unready"
            assert any("nothing answers" in problem for problem in body["problems"]), body
            assert _get(f"{server.url}/healthz") == (200, {"status": "ok"}), "the process is up"

            proxy.restore()
            assert _until(f"{server.url}/readyz", 200) == {"status": "ready"}
    finally:
        proxy.cut()


def test_a_bad_setting_is_a_sentence_on_readyz_and_in_the_log_without_a_traceback(tmp_path):
    env = {"TASKGATE_DATABASE_URL": "mysql://nobody@localhost/taskgate"}
    with streamlit_server(tmp_path, env) as server:
        code, body = _get(f"{server.url}/readyz")
        assert _get(f"{server.url}/healthz") == (200, {"status": "ok"})
    assert code == 503
    (problem,) = body["problems"]
    assert problem.startswith("Taskgate cannot start: TASKGATE_DATABASE_URL")
    assert "Taskgate cannot start" in server.log()
    assert "Traceback" not in server.log()

"""The HTTP API and /metrics against a real server (httpx), its queue in a real SQLite file.

One server serves the module (it takes tens of seconds to start on a busy
machine). Each test acts as its own people, so their runs do not mix; tests
that pause or change group A put it back. The wrong-token throttle keys on
the client's address, which every test shares: the test that trips it is
the module's last.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from core.api.auth import MISSING_TOKEN, WRONG_TOKEN
from core.api.routes import Api
from core.api.tokens import create_token, revoke_token
from core.groups.errors import InvalidGroup
from core.groups.rules import check_settings
from core.identity import Person
from core.limiter import OwnerLimitReached, QueueFull
from core.limiter.config import GroupSettings
from core.runs.database import RunDatabase
from core.runs.service import RunService
from core.tasks import registry
from core.tasks.params import TaskParamError
from db.engine import dispose_engines, get_engine
from db.models import FINISHED_STATUSES, AuditEvent, TaskRun
from tests.support.database import sqlite_url
from tests.support.server import streamlit_server

pytestmark = pytest.mark.timeout(900)

DONE_TIMEOUT_S = 300.0
"""Generous, not a bound on speed: a run on a busy 2-core machine can take long to start."""
BUILT_IN = ("classifier", "fractal", "matmul", "pattern")
ADMIN_EMAIL = "admin@example.org"


@dataclass
class Served:
    url: str
    database_url: str

    def token(self, person: Person, name: str = "tests") -> str:
        return create_token(get_engine(self.database_url), person, name)[1]

    def client(self, token: str | None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def person(name: str, email: str | None = None) -> Person:
    return Person(f"user:{name.encode().hex():0<32}"[:37], name, email or f"{name}@example.org")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("api")
    url = sqlite_url(folder)
    env = {
        "TASKGATE_DATABASE_URL": url,
        "TASKGATE_ADMIN_PASSWORD": "letmein-please",
        "TASKGATE_TASK_MODULES": "tests.support.worker_tasks",
        "TASKGATE_CANCEL_GRACE_S": "2",
        "TASKGATE_ADMINS": ADMIN_EMAIL,
    }
    before = os.environ.get("TASKGATE_TASK_MODULES")
    os.environ["TASKGATE_TASK_MODULES"] = env["TASKGATE_TASK_MODULES"]  # the page-side submits
    try:
        with streamlit_server(folder, env) as server:
            yield Served(server.url, url)
            log = server.log()
        assert "Traceback" not in log, log
    finally:
        if before is None:
            os.environ.pop("TASKGATE_TASK_MODULES", None)
        else:
            os.environ["TASKGATE_TASK_MODULES"] = before
        dispose_engines()


@pytest.fixture(scope="module")
def admin(served) -> httpx.Client:
    return served.client(served.token(person("Alice Admin", ADMIN_EMAIL)))


def wait_final(client: httpx.Client, run_id: str) -> dict:
    """Long-poll until the run ends (bounded)."""
    deadline = time.monotonic() + DONE_TIMEOUT_S
    since = None
    while True:
        params = {"timeout": 20} if since is None else {"timeout": 20, "since": since}
        response = client.get(f"/api/v1/runs/{run_id}/wait", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["final"]:
            return body
        assert time.monotonic() < deadline, f"run {run_id} never ended: {body}"
        since = body["version"]


def wait_status(client: httpx.Client, run_id: str, status: str) -> dict:
    deadline = time.monotonic() + DONE_TIMEOUT_S
    since = None
    while True:
        params = {"timeout": 20} if since is None else {"timeout": 20, "since": since}
        body = client.get(f"/api/v1/runs/{run_id}/wait", params=params).json()
        if body["status"] == status:
            return body
        assert not body["final"] and time.monotonic() < deadline, body
        since = body["version"]


def run_count(served: Served) -> int:
    with get_engine(served.database_url).connect() as connection:
        return connection.execute(select(func.count()).select_from(TaskRun.__table__)).scalar_one()


def set_group(admin: httpx.Client, **settings) -> dict:
    response = admin.patch("/api/v1/admin/groups/A", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


# -- description -------------------------------------------------------------------------------


def test_openapi_describes_every_route_and_tasks_list_their_inputs(served):
    document = httpx.get(f"{served.url}/api/v1/openapi.json").json()
    described = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routes = {
        (route.path, method)
        for route in Api(lambda: None).routes()  # type: ignore[arg-type, return-value]
        for method in route.methods or ()
        if method != "HEAD" and not route.path.endswith("openapi.json")
    }
    assert routes == described

    client = served.client(served.token(person("reader")))
    tasks = {task["key"]: task for task in client.get("/api/v1/tasks").json()["tasks"]}
    assert set(BUILT_IN) <= set(tasks)
    matmul = registry.get("matmul")
    assert [field["name"] for field in tasks["matmul"]["inputs"]] == [
        field.name for field in matmul.fields
    ]
    assert tasks["matmul"]["quick_settings"] == dict(matmul.quick_settings)
    me = client.get("/api/v1/me").json()
    assert me == {"owner": person("reader").owner, "name": "reader", "guest": False, "admin": False}


# -- runs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", BUILT_IN)
def test_submit_wait_result_round_trip_at_quick_settings(served, task):
    spec = registry.get(task)
    client = served.client(served.token(person(f"round-{task}")))
    response = client.post("/api/v1/runs", json={"task": task, "settings": spec.quick_settings})
    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["task"], run["source"], run["status"]) == (task, "api", "queued")
    assert response.headers["location"].endswith(f"/api/v1/runs/{run['id']}")

    done = wait_final(client, run["id"])
    assert done["status"] == "succeeded", done
    assert done["waited_s"] is not None and done["ran_s"] is not None

    parts = client.get(f"/api/v1/runs/{run['id']}/result").json()["parts"]
    assert parts, "a built-in task's result has parts"
    for part in parts:
        if part["kind"] == "image":
            image = client.get(part["url"])
            assert image.headers["content-type"] == "image/png"
            assert image.content.startswith(b"\x89PNG")
        elif part["kind"] == "table":
            table = client.get(part["url"])
            assert table.headers["content-type"].startswith("text/csv")
            assert table.text.splitlines()[0].split(",") == [str(c) for c in part["columns"]]
    mine = client.get("/api/v1/runs").json()["runs"]
    assert [(r["id"], r["status"], r["source"]) for r in mine] == [
        (run["id"], "succeeded", "api")
    ]


def test_api_and_page_runs_keep_fifo_order_and_both_show_in_my_runs(served, admin):
    someone = person("fifo")
    client = served.client(served.token(someone))
    set_group(admin, paused=True)
    try:
        page = RunService(RunDatabase(served.database_url)).submit(
            "sleepy", {"steps": 2, "step_s": 0.05}, someone.owner
        )
        api = client.post("/api/v1/runs", json={"task": "sleepy", "settings": {"steps": 2}})
        assert api.status_code == 201, api.text
        api_run = api.json()
        assert (api_run["position"], api_run["queued"], api_run["paused"]) == (2, 2, True)
        # Nothing moves while paused: the long poll returns at its timeout, unchanged.
        held = client.get(
            f"/api/v1/runs/{api_run['id']}/wait",
            params={"timeout": 1, "since": api_run["version"]},
        ).json()
        assert (held["changed"], held["position"]) == (False, 2)
    finally:
        set_group(admin, paused=False)
    first, second = wait_final(client, page), wait_final(client, api_run["id"])
    assert first["status"] == second["status"] == "succeeded"
    assert first["started_at"] <= second["started_at"]
    mine = client.get("/api/v1/runs").json()["runs"]
    assert {(r["id"], r["source"]) for r in mine} == {(page, "page"), (api_run["id"], "api")}


def test_cancel_a_queued_and_a_running_run(served, admin):
    client = served.client(served.token(person("canceller")))
    running = client.post(
        "/api/v1/runs", json={"task": "sleepy", "settings": {"steps": 4000, "step_s": 0.05}}
    ).json()
    wait_status(client, running["id"], "running")
    set_group(admin, paused=True)
    try:
        queued = client.post("/api/v1/runs", json={"task": "sleepy", "settings": {}}).json()
        assert queued["status"] == "queued"
        response = client.post(f"/api/v1/runs/{queued['id']}/cancel")
        assert response.json() == {"cancelled": True, "id": queued["id"]}
        assert wait_final(client, queued["id"])["status"] == "cancelled"
    finally:
        set_group(admin, paused=False)
    assert client.post(f"/api/v1/runs/{running['id']}/cancel").status_code == 200
    ended = wait_final(client, running["id"])
    assert ended["status"] == "cancelled"
    again = client.post(f"/api/v1/runs/{running['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"] == "The run has already ended, so there is nothing to cancel."


def _sentence(task: str, settings: dict) -> str:
    with pytest.raises(TaskParamError) as refused:
        registry.get(task).parse(settings)
    return str(refused.value)


def test_each_refusal_has_its_status_and_sentence_and_writes_nothing(served, admin):
    client = served.client(served.token(person("refused")))
    before = run_count(served)

    def refused(body, status: int) -> dict:
        response = client.post("/api/v1/runs", json=body)
        assert response.status_code == status, response.text
        return response.json()

    assert refused({"task": "nope"}, 404)["error"].startswith("There is no task called 'nope'")
    too_big = {"n": 10**9}
    assert refused({"task": "matmul", "settings": too_big}, 422) == {
        "error": _sentence("matmul", too_big),
        "field": "n",
    }
    misspelt = {"size": 1}
    assert refused({"task": "matmul", "settings": misspelt}, 422)["error"] == _sentence(
        "matmul", misspelt
    )
    assert refused({"task": "sleepy", "settings": {"steps": -1}}, 422)["error"] == (
        "Steps cannot be negative."
    )
    assert refused({}, 400)["error"].startswith("Say which task to run")
    assert refused({"task": "sleepy", "extra": 1}, 400)["error"].startswith("A run request has")
    bad_json = client.post(
        "/api/v1/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"] == "The request body must be JSON (a JSON object)."
    assert run_count(served) == before

    # The group's caps: a full queue, then the per-person cap.
    set_group(admin, paused=True, max_queue=0)
    try:
        assert refused({"task": "sleepy"}, 429)["error"] == str(QueueFull("A", 0))
        assert run_count(served) == before
        set_group(admin, max_queue=None, per_owner_limit=1)
        assert client.post("/api/v1/runs", json={"task": "sleepy"}).status_code == 201
        assert refused({"task": "sleepy"}, 429)["error"] == str(OwnerLimitReached("A", 1))
        assert run_count(served) == before + 1
    finally:
        set_group(admin, paused=False, per_owner_limit=None)
    for run in client.get("/api/v1/runs").json()["runs"]:
        wait_final(client, run["id"])

    # Bad queries and admin-only endpoints.
    assert client.get("/api/v1/runs", params={"limit": "x"}).status_code == 400
    assert client.get("/api/v1/runs/x/wait", params={"timeout": "999"}).status_code == 400
    forbidden = client.patch("/api/v1/admin/groups/A", json={"limit": 5})
    assert forbidden.status_code == 403
    bad_limit = admin.patch("/api/v1/admin/groups/A", json={"limit": 0})
    assert bad_limit.status_code == 422
    with pytest.raises(InvalidGroup) as form_says:  # the admin form's own check
        check_settings(GroupSettings(limit=0))
    assert bad_limit.json()["error"] == str(form_says.value)


def test_another_persons_run_is_404_as_if_it_did_not_exist(served):
    alice = served.client(served.token(person("alice")))
    bob = served.client(served.token(person("bob")))
    run = alice.post("/api/v1/runs", json={"task": "sleepy", "settings": {"steps": 1}}).json()
    for method, path in (
        ("GET", ""),
        ("GET", "/wait?timeout=0"),
        ("GET", "/result"),
        ("GET", "/result/0"),
        ("POST", "/cancel"),
    ):
        theirs = bob.request(method, f"/api/v1/runs/{run['id']}{path}")
        missing = bob.request(method, f"/api/v1/runs/nosuchrun{path}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"] == missing.json()["error"].replace("nosuchrun", run["id"])
    assert bob.get("/api/v1/runs").json()["runs"] == []
    assert wait_final(alice, run["id"])["status"] == "succeeded"


def test_admin_token_changes_a_limit_and_cancels_any_run_audited_by_its_owner(served, admin):
    changed = set_group(admin, limit=3)
    assert changed["settings"]["limit"] == 3
    set_group(admin, limit=1)
    with get_engine(served.database_url).connect() as connection:
        actors = connection.execute(
            select(AuditEvent.__table__.c.actor, AuditEvent.__table__.c.action)
        ).all()
    assert (f"Alice Admin ({ADMIN_EMAIL})", "update") in actors

    owner = served.client(served.token(person("victim")))
    run = owner.post(
        "/api/v1/runs", json={"task": "sleepy", "settings": {"steps": 4000, "step_s": 0.05}}
    ).json()
    wait_status(owner, run["id"], "running")
    assert admin.post(f"/api/v1/admin/runs/{run['id']}/cancel").status_code == 200
    ended = wait_final(owner, run["id"])
    assert ended["status"] == "cancelled"
    assert "Alice Admin" in (ended["message"] or "")

    # A guest's token is never an admin's, even with an admin's address on it.
    guest = Person("guest:" + "a" * 32, "Guest", ADMIN_EMAIL)
    as_guest = served.client(served.token(guest))
    assert as_guest.patch("/api/v1/admin/groups/A", json={"limit": 2}).status_code == 403


def test_metrics_parse_and_their_counts_equal_task_run(served, admin):
    text = httpx.get(f"{served.url}/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    finished = {
        (s.labels["group"], s.labels["task"], s.labels["outcome"]): s.value
        for s in families["taskgate_runs_finished"].samples
        if s.name == "taskgate_runs_finished_total"
    }
    runs = TaskRun.__table__.c
    with get_engine(served.database_url).connect() as connection:
        expected = {
            (group, task, status): float(count)
            for group, task, status, count in connection.execute(
                select(runs.group_name, runs.task, runs.status, func.count())
                .where(runs.status.in_(FINISHED_STATUSES))
                .group_by(runs.group_name, runs.task, runs.status)
            )
        }
        started = dict(
            connection.execute(
                select(runs.group_name, func.count())
                .where(runs.started_at.is_not(None))
                .group_by(runs.group_name)
            ).all()
        )
    assert finished == expected and sum(expected.values()) > 0
    waits = {
        s.labels["group"]: s.value
        for s in families["taskgate_run_wait_seconds"].samples
        if s.name == "taskgate_run_wait_seconds_count"
    }
    assert waits == {group: float(count) for group, count in started.items()}
    limits = {s.labels["group"]: s.value for s in families["taskgate_group_limit"].samples}
    assert limits["A"] == 1.0
    for name in ("taskgate_group_running", "taskgate_group_queued", "taskgate_group_paused"):
        assert "A" in {s.labels["group"] for s in families[name].samples}
    assert families["taskgate_admitter_up"].samples[0].value == 1.0
    assert families["taskgate_workers_alive"].samples[0].value >= 1.0


# -- tokens (last: a wrong token slows down every client from this address) ---------------------


def test_missing_wrong_and_revoked_tokens_are_401_and_wrong_ones_are_throttled(served):
    assert served.client(None).get("/api/v1/runs").json() == {"error": MISSING_TOKEN}
    someone = person("revoker")
    info, secret = create_token(get_engine(served.database_url), someone, "laptop")
    client = served.client(secret)
    assert client.get("/api/v1/runs").status_code == 200
    assert revoke_token(get_engine(served.database_url), someone.owner, info.id)
    revoked = client.get("/api/v1/runs")
    assert (revoked.status_code, revoked.json()) == (401, {"error": WRONG_TOKEN})
    wrong = served.client("tg_not-a-token")
    codes = []
    while (answer := wrong.get("/api/v1/runs")).status_code != 429:
        codes.append(answer.status_code)
        assert len(codes) < 6, "wrong tokens were never throttled"
    assert codes and set(codes) == {401}
    throttled = [answer]
    assert throttled[0].json()["error"].startswith("Too many wrong tokens. Try again in")
    assert int(throttled[0].headers["retry-after"]) >= 1

"""``/api/v1``: tasks, runs and results for scripts, on the pages' own server and queue.

Every run goes through ``RunService.submit`` like a page's, after the same
checks (``TaskSpec.parse``, ``Access.require_may_run``) with the same
sentences, so an API run stands in the same line under the same caps; it is
recorded with ``source = "api"``. Another person's run answers 404, exactly
as a run that does not exist. Work that touches the database runs on worker
threads; a long poll (``/wait``) blocks on the process's ``RunWatcher``, so
waiting clients cost what watching pages cost: no queries of their own.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import anyio
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.api import schemas
from core.api.auth import Caller, Unauthorized, authenticate
from core.api.openapi import openapi_document
from core.api.schemas import refusal, run_json
from core.app import App
from core.auth import LoginThrottle
from core.groups.errors import GroupError, GroupNotFound, InvalidGroup, StaleGroup
from core.identity import Access, NotAllowed
from core.limiter import LimiterError, OwnerLimitReached, QueueFull
from core.run_history import RECENT_RUNS_LIMIT, recent_runs
from core.run_watch import RunView, read_views
from core.runs import sql
from core.runs.admin import RunActionRefused
from core.tasks import registry
from core.tasks.assignment import group_of
from core.tasks.device import pick_device
from core.tasks.params import TaskParamError
from core.tasks.result import Image, Table, TaskResult
from core.worker import codec
from db.models import RUN_SOURCE_API, RunStatus, TaskRun

PREFIX = "/api/v1"
WAIT_DEFAULT_S = 30.0
WAIT_MAX_S = 60.0
"""Longest long poll: a client that went away holds its waiting thread at most this long."""
WAITERS_MAX = 512
"""Long polls waiting at once; each is a thread blocked on an event (no queries, no CPU)."""

AppFn = Callable[[], App]
"""The process's App; raises ``LookupError`` with a sentence while there is none."""

Handler = Callable[["Call"], Response]


@dataclasses.dataclass(frozen=True)
class Call:
    """One authenticated request, as a handler on a worker thread sees it."""

    app: App
    caller: Caller
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: dict[str, Any]
    base_url: str

    @property
    def owner(self) -> str:
        """Whose runs these are: the one owner (TASKGATE_SINGLE_OWNER), else the token's."""
        return self.app.settings.single_owner or self.caller.person.owner


class _BadBody(Exception):
    pass


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadBody("The request body must be JSON (a JSON object).") from None
    if not isinstance(body, dict):
        raise _BadBody("The request body must be a JSON object.")
    return body


def _not_found(run_id: str) -> JSONResponse:
    return refusal(404, f"There is no run {run_id} among your runs.")


class Api:
    """The API's routes around one App (reached through ``app_fn``) and one token throttle."""

    def __init__(self, app_fn: AppFn, throttle: LoginThrottle | None = None) -> None:
        self._app_fn = app_fn
        self.throttle = throttle or LoginThrottle()
        self._waiters = anyio.CapacityLimiter(WAITERS_MAX)

    def routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str, **options: Any) -> Route:
            return Route(PREFIX + path, self._endpoint(handler, **options), methods=[method])

        return [
            Route(PREFIX + "/openapi.json", _openapi, methods=["GET"]),
            route("/me", _me, "GET"),
            route("/tasks", _tasks, "GET"),
            route("/runs", _submit, "POST"),
            route("/runs", _my_runs, "GET"),
            route("/runs/{run_id}", _get_run, "GET"),
            route("/runs/{run_id}/cancel", _cancel, "POST"),
            route("/runs/{run_id}/wait", _wait, "GET", waiting=True),
            route("/runs/{run_id}/result", _result, "GET"),
            route("/runs/{run_id}/result/{index}", _result_part, "GET"),
            route("/admin/groups", _groups, "GET", admin=True),
            route("/admin/groups/{name}", _change_group, "PATCH", admin=True),
            route("/admin/groups/{name}/pause", partial(_pause, paused=True), "POST", admin=True),
            route("/admin/groups/{name}/resume", partial(_pause, paused=False), "POST", admin=True),
            route("/admin/runs/{run_id}/cancel", _admin_cancel, "POST", admin=True),
        ]

    def _endpoint(self, handler: Handler, admin: bool = False, waiting: bool = False):
        async def endpoint(request: Request) -> Response:
            try:
                body = await _body(request) if request.method in ("POST", "PATCH") else {}
            except _BadBody as problem:
                return refusal(400, str(problem))
            work = partial(self._handle, handler, request, body, admin)
            if waiting:
                return await anyio.to_thread.run_sync(work, limiter=self._waiters)
            return await anyio.to_thread.run_sync(work)

        return endpoint

    def _handle(self, handler: Handler, request: Request, body: dict, admin: bool) -> Response:
        try:
            app = self._app_fn()
        except LookupError as problem:
            return refusal(503, str(problem))
        access = Access.of(app.settings.guests, app.settings.admins)
        source = request.client.host if request.client else None
        try:
            caller = authenticate(
                app.engine, self.throttle, access, request.headers.get("authorization"), source
            )
        except Unauthorized as problem:
            headers = {"WWW-Authenticate": "Bearer"}
            status = 401
            if problem.retry_after_s is not None:
                headers["Retry-After"] = str(problem.retry_after_s)
                status = 429
            return JSONResponse({"error": str(problem)}, status_code=status, headers=headers)
        if caller.person.is_guest and not access.guests_may_watch():
            return refusal(403, "Sign in to use Taskgate: guests cannot use it here.")
        if admin and caller.admin is None:
            return refusal(
                403, "Only an admin can do this: the token's owner is not in TASKGATE_ADMINS."
            )
        call = Call(
            app,
            caller,
            dict(request.path_params),
            dict(request.query_params),
            body,
            str(request.base_url).rstrip("/"),
        )
        return handler(call)


# -- reading -------------------------------------------------------------------------------------


async def _openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(str(request.base_url).rstrip("/")))


def _me(call: Call) -> Response:
    person = call.caller.person
    return JSONResponse(
        {
            "owner": person.owner,
            "name": person.name,
            "guest": person.is_guest,
            "admin": call.caller.admin is not None,
        }
    )


def _tasks(call: Call) -> Response:
    device = pick_device()
    return JSONResponse(
        {
            "tasks": [
                schemas.task_json(spec, spec.fields_for(device), group_of(call.app.engine, key))
                for key, spec in registry.tasks().items()
            ]
        }
    )


def _source(app: App, run_id: str) -> str | None:
    with app.db.read() as connection:
        return connection.execute(
            select(TaskRun.__table__.c.source).where(TaskRun.__table__.c.id == run_id)
        ).scalar()


def _own_view(call: Call) -> RunView | None:
    """The caller's run named in the path, None if it is not theirs (or does not exist)."""
    view = call.app.watcher.view(call.params["run_id"])
    if view is None or view.owner != call.owner:
        return None
    return view


def _my_runs(call: Call) -> Response:
    limit = _whole(call.query.get("limit"), RECENT_RUNS_LIMIT)
    if limit is None or not 1 <= limit <= RECENT_RUNS_LIMIT:
        return refusal(400, f"limit must be a whole number from 1 to {RECENT_RUNS_LIMIT}.")
    rows = recent_runs(call.app.engine, call.owner, limit)
    return JSONResponse({"runs": [schemas.history_json(row) for row in rows]})


def _get_run(call: Call) -> Response:
    view = _own_view(call)
    if view is None:
        return _not_found(call.params["run_id"])
    return JSONResponse(run_json(view, _source(call.app, view.id)))


def _wait(call: Call) -> Response:
    """Block until the run shows something other than ``since`` (its ``version``), or timeout."""
    run_id = call.params["run_id"]
    raw = call.query.get("timeout")
    timeout = WAIT_DEFAULT_S if raw is None else _number(raw)
    if timeout is None or not 0 <= timeout <= WAIT_MAX_S:
        return refusal(400, f"timeout must be a number of seconds from 0 to {WAIT_MAX_S:g}.")
    view = _own_view(call)
    if view is None:
        return _not_found(run_id)
    since = call.query.get("since")
    if view.active and (since is None or since == schemas.version_of(view)):
        views = call.app.watcher.wait([run_id], {run_id: view.shown()}, timeout)
        view = views.get(run_id, view)
    body = run_json(view, _source(call.app, run_id))
    body["changed"] = since is None or body["version"] != since
    return JSONResponse(body)


def _load_result(call: Call) -> TaskResult | Response:
    view = _own_view(call)
    if view is None:
        return _not_found(call.params["run_id"])
    if view.status != RunStatus.SUCCEEDED:
        if view.active:
            return refusal(409, "The run has not finished yet: wait for it, then ask again.")
        return refusal(
            409, f"The run did not succeed, so it has no result: {view.error or ''}".strip()
        )
    with call.app.db.read() as connection:
        content = sql.result_of(connection, view.id)
    result = None if content is None else codec.decode(content)
    if not isinstance(result, TaskResult):
        return refusal(404, "This run left no result.")
    return result


def _result(call: Call) -> Response:
    result = _load_result(call)
    if isinstance(result, Response):
        return result
    url = f"{call.base_url}{PREFIX}/runs/{call.params['run_id']}/result"
    return JSONResponse(schemas.result_json(result, url))


def _result_part(call: Call) -> Response:
    result = _load_result(call)
    if isinstance(result, Response):
        return result
    parts = schemas.flat_parts(result)
    index = _whole(call.params["index"], None)
    if index is None or not 0 <= index < len(parts):
        return refusal(
            404,
            f"This result has parts 0 to {len(parts) - 1}; "
            f"there is no part {call.params['index']}.",
        )
    part = parts[index]
    if isinstance(part, Image):
        return Response(part.png(), media_type="image/png")
    if isinstance(part, Table):
        return Response(part.rows.to_csv(index=False), media_type="text/csv; charset=utf-8")
    return refusal(404, f"Part {index} is not an image or a table; its JSON is in the result.")


# -- runs ----------------------------------------------------------------------------------------


def _decode_images(spec: registry.TaskSpec, settings: dict[str, Any]) -> dict[str, Any]:
    """Image inputs arrive as ``{"base64": "..."}``: the upload's bytes, for the field to check."""
    images = {field.name for field in spec.fields if field.kind == "image"}
    decoded = dict(settings)
    for name in images & set(settings):
        value = settings[name]
        if isinstance(value, dict) and isinstance(value.get("base64"), str):
            try:
                decoded[name] = base64.b64decode(value["base64"], validate=True)
            except (binascii.Error, ValueError):
                raise TaskParamError(
                    f"{name} must be base64 text of an image file.", field=name
                ) from None
    return decoded


def _submit(call: Call) -> Response:
    extra = sorted(set(call.body) - {"task", "settings"})
    if extra:
        return refusal(400, f"A run request has no field {extra[0]!r}: send task and settings.")
    task = call.body.get("task")
    if not isinstance(task, str) or not task:
        return refusal(400, 'Say which task to run: {"task": KEY, "settings": {...}}.')
    settings = call.body.get("settings", {})
    if not isinstance(settings, dict):
        return refusal(400, "settings must be a JSON object of the task's inputs by name.")
    try:
        spec = registry.get(task)
    except KeyError:
        return refusal(
            404,
            f"There is no task called {task!r}; the tasks here are {', '.join(registry.tasks())}.",
        )
    app = call.app
    try:
        Access.of(app.settings.guests, app.settings.admins).require_may_run(call.caller.person)
        parsed = spec.parse(_decode_images(spec, settings))
        run_id = app.runs.submit(
            spec.key, spec.settings(parsed), call.owner, spec.inputs(parsed), source=RUN_SOURCE_API
        )
    except TaskParamError as problem:
        return refusal(422, str(problem), field=problem.field)
    except NotAllowed as problem:
        return refusal(403, str(problem))
    except (QueueFull, OwnerLimitReached) as problem:
        return refusal(429, str(problem))
    except LimiterError as problem:
        return refusal(409, str(problem))
    view = app.watcher.view(run_id)
    assert view is not None
    return JSONResponse(
        run_json(view, RUN_SOURCE_API),
        status_code=201,
        headers={"Location": f"{call.base_url}{PREFIX}/runs/{run_id}"},
    )


def _cancel(call: Call) -> Response:
    view = _own_view(call)
    if view is None:
        return _not_found(call.params["run_id"])
    if not call.app.runs.cancel(view.id, actor=call.owner, owner=call.owner):
        return refusal(409, "The run has already ended, so there is nothing to cancel.")
    return JSONResponse({"cancelled": True, "id": view.id})


# -- admin ---------------------------------------------------------------------------------------


def _group_json(call: Call, name: str) -> dict[str, Any]:
    record = call.app.groups().get(name)
    snapshot = call.app.occupancy.fresh().get(record.name)
    return {
        "name": record.name,
        "settings": record.settings.as_dict(),
        "version": record.version,
        "running": snapshot.running if snapshot else 0,
        "queued": snapshot.queued if snapshot else 0,
        "updated_by": record.updated_by,
    }


def _group_refusal(problem: GroupError) -> JSONResponse:
    if isinstance(problem, GroupNotFound):
        return refusal(404, str(problem))
    if isinstance(problem, InvalidGroup):
        return refusal(422, str(problem), fields=problem.errors)
    if isinstance(problem, StaleGroup):
        return refusal(409, str(problem))
    return refusal(409, str(problem))


def _groups(call: Call) -> Response:
    names = [record.name for record in call.app.groups().groups()]
    return JSONResponse({"groups": [_group_json(call, name) for name in names]})


def _change_group(call: Call) -> Response:
    """Change some of a group's settings (e.g. ``{"limit": 4}``), audited as its admin."""
    assert call.caller.admin is not None
    service = call.app.groups()
    name = call.params["name"]
    try:
        record = service.get(name)
        known = set(record.settings.as_dict())
        unknown = sorted(set(call.body) - known)
        if unknown or not call.body:
            return refusal(
                400,
                f"Send some of a group's settings: {', '.join(sorted(known))}"
                + (f"; there is no setting {unknown[0]!r}." if unknown else "."),
            )
        settings = dataclasses.replace(record.settings, **call.body)
        service.update(call.caller.admin, record.name, settings, record.version)
    except GroupError as problem:
        return _group_refusal(problem)
    return JSONResponse(_group_json(call, record.name))


def _pause(call: Call, paused: bool) -> Response:
    assert call.caller.admin is not None
    service = call.app.groups()
    try:
        record = (service.pause if paused else service.resume)(
            call.caller.admin, call.params["name"]
        )
    except GroupError as problem:
        return _group_refusal(problem)
    return JSONResponse(_group_json(call, record.name))


def _admin_cancel(call: Call) -> Response:
    """Cancel anyone's run: take it out of the queue, or stop it; its owner reads who did."""
    assert call.caller.admin is not None
    run_id = call.params["run_id"]
    with call.app.db.read() as connection:
        view = read_views(connection, [run_id]).get(run_id)
    if view is None:
        return refusal(404, f"There is no run {run_id}.")
    try:
        if view.status == RunStatus.RUNNING:
            call.app.run_admin.cancel(call.caller.admin, run_id)
        else:
            call.app.run_admin.remove(call.caller.admin, run_id)
    except RunActionRefused as problem:
        return refusal(409, str(problem))
    return JSONResponse({"cancelled": True, "id": run_id})


# -- small parsers -------------------------------------------------------------------------------


def _whole(raw: str | None, default: int | None) -> int | None:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None

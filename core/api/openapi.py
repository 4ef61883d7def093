"""The API's OpenAPI 3.1 description, written by hand: Starlette has no schema generator.

Kept next to the routes and checked by a test that every route is described,
so a new endpoint cannot be left out.
"""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, ok: str, *, body: str | None = None, params: tuple = (), **more: Any):
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"token": []}],
        "responses": {
            ok: {"description": "OK", "content": {"application/json": {}}},
            "401": ERROR,
            "404": ERROR,
            **more.pop("responses", {}),
        },
        "parameters": [_PARAMS[name] for name in params],
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    operation.update(more)
    return operation


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_PARAMS = {
    "run_id": _path("run_id"),
    "name": _path("name"),
    "index": {"name": "index", "in": "path", "required": True, "schema": {"type": "integer"}},
    "timeout": {
        "name": "timeout",
        "in": "query",
        "description": "Seconds to wait for a change, 0 to 60 (default 30).",
        "schema": {"type": "number"},
    },
    "since": {
        "name": "since",
        "in": "query",
        "description": "The run's `version` last seen: return as soon as it differs.",
        "schema": {"type": "string"},
    },
    "limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}},
}

_REFUSED = {"403": ERROR, "409": ERROR, "422": ERROR, "429": ERROR, "400": ERROR}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The description served at ``/api/v1/openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Taskgate API",
            "version": "1",
            "description": (
                "Queue Taskgate tasks from code through the same line as the pages. "
                "Make a personal token on the My runs page and send it as "
                "'Authorization: Bearer TOKEN'. Every refusal is a JSON object whose "
                "'error' is the sentence the page would show."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/v1/me": {"get": _op("Who the token acts as", "200")},
            "/api/v1/tasks": {"get": _op("The tasks and their inputs", "200")},
            "/api/v1/runs": {
                "post": _op(
                    "Submit a run (same checks, caps and queue as the page)",
                    "201",
                    body="RunRequest",
                    responses=_REFUSED,
                ),
                "get": _op("My recent runs, newest first", "200", params=("limit",)),
            },
            "/api/v1/runs/{run_id}": {
                "get": _op(
                    "A run: status, position, ETA, progress, times", "200", params=("run_id",)
                )
            },
            "/api/v1/runs/{run_id}/wait": {
                "get": _op(
                    "Long poll: the run once it shows something new, or at the timeout",
                    "200",
                    params=("run_id", "timeout", "since"),
                )
            },
            "/api/v1/runs/{run_id}/cancel": {
                "post": _op("Cancel my run", "200", params=("run_id",), responses={"409": ERROR})
            },
            "/api/v1/runs/{run_id}/result": {
                "get": _op(
                    "A finished run's result parts as JSON",
                    "200",
                    params=("run_id",),
                    responses={"409": ERROR},
                )
            },
            "/api/v1/runs/{run_id}/result/{index}": {
                "get": _op(
                    "One part: an image as PNG, a table as CSV",
                    "200",
                    params=("run_id", "index"),
                    responses={"409": ERROR},
                )
            },
            "/api/v1/admin/groups": {"get": _op("Groups with their settings (admin)", "200")},
            "/api/v1/admin/groups/{name}": {
                "patch": _op(
                    "Change a group's settings, e.g. its limit (admin, audited)",
                    "200",
                    body="GroupChange",
                    params=("name",),
                    responses=_REFUSED,
                )
            },
            "/api/v1/admin/groups/{name}/pause": {
                "post": _op("Pause a group (admin, audited)", "200", params=("name",))
            },
            "/api/v1/admin/groups/{name}/resume": {
                "post": _op("Resume a group (admin, audited)", "200", params=("name",))
            },
            "/api/v1/admin/runs/{run_id}/cancel": {
                "post": _op(
                    "Cancel anyone's run (admin, audited)",
                    "200",
                    params=("run_id",),
                    responses={"409": ERROR, "403": ERROR},
                )
            },
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "Refused; nothing was changed.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {"type": "string"},
                                    "field": {"type": ["string", "null"]},
                                },
                                "required": ["error"],
                            }
                        }
                    },
                }
            },
            "schemas": {
                "RunRequest": {
                    "type": "object",
                    "properties": {
                        "task": {"type": "string", "description": "A key from /api/v1/tasks."},
                        "settings": {
                            "type": "object",
                            "description": "Inputs by name; missing ones take their defaults. "
                            'An image is {"base64": "..."}.',
                        },
                    },
                    "required": ["task"],
                    "additionalProperties": False,
                },
                "GroupChange": {
                    "type": "object",
                    "properties": {
                        "limit": {"type": "integer", "minimum": 1},
                        "paused": {"type": "boolean"},
                        "max_queue": {"type": ["integer", "null"]},
                        "queue_timeout_s": {"type": ["number", "null"]},
                        "per_owner_limit": {"type": ["integer", "null"]},
                    },
                },
            },
        },
    }

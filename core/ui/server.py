"""The server around the pages: Taskgate's lifespan, its health routes, the API and metrics.

Home.py declares ``app = st.App("Home.py", lifespan=lifespan, routes=health_routes())``;
``streamlit run Home.py`` finds it and serves it with uvicorn. The lifespan
runs before the server accepts its first connection and after it closed
its last, so the process's services do not wait for a visitor.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

from core.api.metrics import Metrics
from core.api.routes import Api
from core.app import App
from core.ui.bootstrap import close_served, served_app, served_problems, start_served

READY_TIMEOUT_S = 5.0
"""How long /readyz waits for its database query before it says the database does not answer."""

_checks = anyio.CapacityLimiter(2)
"""Health checks stuck on a database that does not answer hold at most these threads."""


def quiet_server_log() -> None:
    """Keep uvicorn's INFO lines (started, waiting, shutting down) out of the console."""
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Start Taskgate's services before the first connection; close them when the server stops."""
    # Streamlit takes a pages/ folder beside the main script for its old automatic
    # multipage mode (each page script run alone, its own sidebar) until some session
    # calls st.navigation; it decides on the first session. Every page is under Home.py's
    # st.navigation, so that mode is off from the start: a deep link is always found.
    PagesManager.uses_pages_directory = False
    await anyio.to_thread.run_sync(start_served)
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(close_served)


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _readyz(_request: Request) -> JSONResponse:
    problems = [f"The database did not answer within {READY_TIMEOUT_S:g} s."]
    with anyio.move_on_after(READY_TIMEOUT_S):
        problems = await anyio.to_thread.run_sync(
            served_problems, abandon_on_cancel=True, limiter=_checks
        )
    if problems:
        return JSONResponse({"status": "unready", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


def health_routes() -> list[Route]:
    """``GET /healthz``: the process answers; ``GET /readyz``: it can serve runs now."""
    return [Route("/healthz", _healthz), Route("/readyz", _readyz)]


def _serving_app() -> App:
    """The App for the API and /metrics; LookupError with a sentence while there is none."""
    app = served_app()
    if app is None:
        problems = served_problems()
        raise LookupError(problems[0] if problems else "Taskgate is not running.")
    return app


def server_routes() -> list[Route]:
    """Health, the HTTP API (/api/v1, core/api/routes.py) and /metrics, on the pages' server."""
    return [*health_routes(), *Api(_serving_app).routes(), *Metrics(_serving_app).routes()]

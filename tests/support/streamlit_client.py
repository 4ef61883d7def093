"""A browser session without a browser: Streamlit's websocket protocol, spoken from asyncio.

Each ``Tab`` is one websocket on ``/_stcore/stream`` (subprotocol
``streamlit``) and behaves like one browser tab, as far as the server can
tell: it asks for a page with a ``rerun_script`` BackMsg, receives the
ForwardMsgs of each script run (deltas, ``script_finished``), clicks a
button by sending its widget id with a trigger value, reruns its
``run_every`` fragments every interval the way the browser does
(``auto_rerun`` messages), and closing it is closing the tab. The message
classes ship with Streamlit (``streamlit.proto``). bench/sessions_bench.py
checks once that a page renders the same elements here as in Chromium.

Hundreds of tabs share one event loop, so a load test needs one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect

FULL_RUN = ForwardMsg.FINISHED_SUCCESSFULLY
FRAGMENT_RUN = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
STOPPED_FOR_RERUN = ForwardMsg.FINISHED_EARLY_FOR_RERUN
RUN_TIMEOUT_S = 120.0
"""Bounds every wait for a script run, so a stuck server fails a test instead of hanging it."""


@dataclass
class Widget:
    """A widget as the last full run drew it: what to send to set or click it."""

    id: str
    kind: str
    """The Element field that holds it: ``button``, ``text_input``, ``number_input``, ..."""
    label: str
    integer: bool = False


@dataclass
class Run:
    """One script run as this tab saw it, from its ``new_session`` to its ``script_finished``."""

    started_at: float
    fragment: bool
    elements: list[str] = field(default_factory=list)
    """The kind of each element the run drew, in order (``markdown``, ``button``, ...)."""
    status: int | None = None
    finished_at: float | None = None

    @property
    def seconds(self) -> float:
        return self.finished_at - self.started_at


def trigger(widget: Widget) -> WidgetState:
    """The state a click on button ``widget`` sends."""
    return WidgetState(id=widget.id, trigger_value=True)


def value(widget: Widget, new: object) -> WidgetState:
    """The state that sets ``widget`` (a text or number input) to ``new``."""
    if widget.kind == "number_input":
        if widget.integer:
            return WidgetState(id=widget.id, int_value=int(new))
        return WidgetState(id=widget.id, double_value=float(new))
    return WidgetState(id=widget.id, string_value=str(new))


class Tab:
    """One connected browser tab on a Streamlit server."""

    def __init__(self, base_url: str, *, follow_auto_reruns: bool = True) -> None:
        self._url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self._follow_auto_reruns = follow_auto_reruns
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._tickers: dict[str, asyncio.Task] = {}
        self._page_hash = ""
        self._current: Run | None = None
        self._finished: asyncio.Queue[Run] = asyncio.Queue()
        self.widgets: dict[str, Widget] = {}
        self.runs: list[Run] = []
        self.messages = 0
        self.bytes_received = 0
        self.texts: list[str] = []
        """Markdown, caption, alert and toast bodies drawn since the last full run began."""
        self.full_runs_started = 0
        self.script_running = False
        """What the server last said (``session_status_changed``): is a script run going on?"""
        self._changed = asyncio.Condition()

    async def open(self, page: str = "") -> Run:
        """Connect and load ``page`` (its URL path; "" is the default page) as a new visitor."""
        self._socket = await connect(
            self._url, subprotocols=["streamlit"], max_size=None, open_timeout=RUN_TIMEOUT_S
        )
        self._reader = asyncio.create_task(self._read())
        self._send_rerun(page_name=page)
        return await self.wait_for_run(FULL_RUN)

    async def close(self) -> None:
        """Close the tab: the server sees the websocket go away, as when a person closes it."""
        for ticker in self._tickers.values():
            ticker.cancel()
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    def click(self, label: str, *, also: Iterable[WidgetState] = ()) -> None:
        """Click the button called ``label`` (with the other widget states ``also``)."""
        self._send_rerun(widgets=[*also, trigger(self.widget(label))])

    def widget(self, label: str) -> Widget:
        try:
            return self.widgets[label]
        except KeyError:
            known = sorted(self.widgets)
            raise LookupError(f"no widget labelled {label!r}; the page has {known}") from None

    async def wait_for_run(self, status: int = FULL_RUN, timeout: float = RUN_TIMEOUT_S) -> Run:
        """The next run this tab sees end with ``status`` (runs ending otherwise are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            run = await asyncio.wait_for(self._finished.get(), deadline - time.monotonic())
            if run.status == status:
                return run

    async def wait_until(self, condition, timeout: float = RUN_TIMEOUT_S) -> None:
        """Wait until ``condition()`` holds, checking after every message received."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def wait_for_text(self, part: str, timeout: float = RUN_TIMEOUT_S) -> None:
        """Wait until the page shows a text containing ``part``."""
        await self.wait_until(lambda: any(part in text for text in self.texts), timeout)

    def fragment_runs(self) -> list[Run]:
        return [run for run in self.runs if run.status == FRAGMENT_RUN]

    def _send_rerun(
        self,
        *,
        widgets: Iterable[WidgetState] = (),
        fragment_id: str = "",
        page_name: str = "",
    ) -> None:
        message = BackMsg()
        state = message.rerun_script
        state.page_script_hash = self._page_hash
        state.page_name = page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = bool(fragment_id)
        state.widget_states.widgets.extend(widgets)
        asyncio.ensure_future(self._socket.send(message.SerializeToString()))

    async def _read(self) -> None:
        async for data in self._socket:
            self.messages += 1
            self.bytes_received += len(data)
            message = ForwardMsg()
            message.ParseFromString(data)
            self._handle(message)
            async with self._changed:
                self._changed.notify_all()

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._page_hash = message.new_session.page_script_hash
            self._begin_run(fragment=bool(message.metadata.run.fragment_ids))
        elif kind == "navigation":
            self._page_hash = message.navigation.page_script_hash
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._record_element(message.delta.new_element)
        elif kind == "session_status_changed":
            self.script_running = message.session_status_changed.script_is_running
        elif kind == "script_finished":
            self._end_run(message.script_finished)
        elif kind == "auto_rerun" and self._follow_auto_reruns:
            self._tick(message.auto_rerun.fragment_id, message.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                ticker = self._tickers.pop(fragment_id, None)
                if ticker is not None:
                    ticker.cancel()

    def _begin_run(self, *, fragment: bool) -> None:
        """A new script run started (``new_session`` opens every run, full or fragment)."""
        self._current = Run(time.monotonic(), fragment)
        if not fragment:
            self.full_runs_started += 1
            self.widgets = {}
            self.texts = []

    def _record_element(self, element) -> None:
        kind = element.WhichOneof("type")
        if self._current is not None:
            self._current.elements.append(kind)
        body = getattr(element, kind, None)
        if kind in ("markdown", "alert", "toast") and hasattr(body, "body"):
            self.texts.append(body.body)
        label = getattr(body, "label", None)
        widget_id = getattr(body, "id", None)
        if label and widget_id:
            integer = kind == "number_input" and body.data_type == body.INT
            self.widgets[label] = Widget(widget_id, kind, label, integer)

    def _end_run(self, status: int) -> None:
        run = self._current or Run(time.monotonic(), fragment=status == FRAGMENT_RUN)
        self._current = None
        run.status, run.finished_at = status, time.monotonic()
        self.runs.append(run)
        self._finished.put_nowait(run)

    def _tick(self, fragment_id: str, interval: float) -> None:
        if fragment_id in self._tickers:
            return

        async def rerun_every_interval() -> None:
            while True:
                await asyncio.sleep(interval)
                self._send_rerun(fragment_id=fragment_id)

        self._tickers[fragment_id] = asyncio.create_task(rerun_every_interval())

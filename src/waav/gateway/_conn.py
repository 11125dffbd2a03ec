"""One client WebSocket: an ordered outgoing queue with one sender task, frame limits, idle timeout.

Both ``/ws`` and ``/realtime`` use it. Everything a session sends goes through the queue so
JSON messages and paced audio frames leave in the order they were produced, and a slow
client applies back-pressure to its own session only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from waav.gateway._providers import describe_error
from waav.gateway.metrics import Metrics

__all__ = ["Connection", "Disconnected"]

log = logging.getLogger("waav.gateway")

_CLOSE = object()


class Disconnected(Exception):
    """The client went away (or the session was closed)."""


class Connection:
    """A client WebSocket with an outgoing queue (see the module docstring)."""

    def __init__(
        self,
        ws: WebSocket,
        endpoint: str,
        metrics: Metrics,
        *,
        max_text: int,
        max_binary: int,
        idle_timeout: float,
        error: Callable[[str, str], dict[str, Any]],
        queue_size: int = 1024,
    ) -> None:
        self.ws = ws
        self.endpoint = endpoint
        self.metrics = metrics
        self.max_text = max_text
        self.max_binary = max_binary
        self.idle_timeout = idle_timeout
        self._error = error
        self._in_text = metrics.bind("waav_frames_in_total", endpoint=endpoint, kind="text")
        self._in_binary = metrics.bind("waav_frames_in_total", endpoint=endpoint, kind="binary")
        self._out_text = metrics.bind("waav_frames_out_total", endpoint=endpoint, kind="text")
        self._out_binary = metrics.bind("waav_frames_out_total", endpoint=endpoint, kind="binary")
        self._queue: asyncio.Queue[Any] = asyncio.Queue(queue_size)
        self._sender: asyncio.Task[None] | None = None
        self.closed = False
        self.close_code: int | None = None
        self.last_rx = loop_time()
        self._idle: asyncio.Task[None] | None = None

    async def accept(self) -> None:
        await self.ws.accept()
        self.last_rx = loop_time()
        self._sender = asyncio.create_task(self._send_loop(), name=f"{self.endpoint}-sender")
        self._idle = asyncio.create_task(self._idle_loop(), name=f"{self.endpoint}-idle")

    async def _idle_loop(self) -> None:
        # A watchdog tick instead of a timeout around every receive: per-frame cost stays zero.
        tick = min(5.0, self.idle_timeout / 4)
        while not self.closed:
            await asyncio.sleep(tick)
            if loop_time() - self.last_rx >= self.idle_timeout:
                await self.error("Connection closed due to inactivity", "idle_timeout")
                await self.close(1000, "idle timeout")
                return

    # --- sending ------------------------------------------------------------------------
    async def send(self, item: dict[str, Any] | bytes) -> None:
        """Queue a JSON message or a binary frame (waits when the client is far behind)."""
        if self.closed:
            return
        await self._queue.put(item)

    def send_nowait(self, item: dict[str, Any] | bytes) -> None:
        """Queue from a sync callback; drops the item (logged) if the client is 1024 frames behind."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("%s: client not reading; dropped an outgoing frame", self.endpoint)

    async def error(self, message: str, category: str = "session") -> None:
        self.metrics.inc("waav_errors_total", endpoint=self.endpoint, category=category)
        await self.send(self._error(message, category))

    async def _send_loop(self) -> None:
        ws = self.ws
        out_text, out_binary = self._out_text, self._out_binary
        try:
            while True:
                item = await self._queue.get()
                if item is _CLOSE:
                    break
                if isinstance(item, bytes):
                    await ws.send_bytes(item)
                    out_binary.inc()
                else:
                    await ws.send_text(json.dumps(item, separators=(",", ":")))
                    out_text.inc()
        except Exception:  # the client went away mid-send: nothing left to tell it
            self.closed = True

    # --- receiving ----------------------------------------------------------------------
    async def dispatch(
        self,
        on_audio: Callable[[bytes], Awaitable[None]],
        on_text: Callable[[str], Awaitable[None]],
        *,
        label: Callable[[], str],
        category: str,
    ) -> None:
        """Hand every frame to its handler until the client leaves (raises :class:`Disconnected`).

        An exception while handling one frame is logged (as ``label()``) and answered with an
        ``error`` of ``category``: a bug costs that message, not the session.
        """
        while True:
            frame = await self.receive()
            try:
                if isinstance(frame, bytes):
                    await on_audio(frame)
                else:
                    await on_text(frame)
            except Disconnected:
                raise
            except Exception as exc:
                log.exception("%s: handling a message failed", label())
                await self.error(f"Internal error: {describe_error(exc)}", category)

    async def receive(self) -> str | bytes:
        """The next accepted frame; raises :class:`Disconnected` when the session is over.

        Oversized frames are answered with an ``error`` and skipped; silence longer than the
        idle timeout sends ``Connection closed due to inactivity`` and closes.
        """
        while True:
            if self.closed:
                raise Disconnected
            try:
                msg = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                self.closed = True
                raise Disconnected from None
            if msg["type"] == "websocket.disconnect":
                self.closed = True
                self.close_code = msg.get("code")
                raise Disconnected
            self.last_rx = loop_time()
            text = msg.get("text")
            if text is not None:
                self._in_text.inc()
                # cheap bound first: a str of n chars is at least n bytes of UTF-8
                if len(text) > self.max_text or len(text.encode("utf-8")) > self.max_text:
                    await self.error(
                        f"Message too large: text frames are limited to {self.max_text} bytes", "frame_size"
                    )
                    continue
                return str(text)
            data = msg.get("bytes")
            if data is None:
                continue
            self._in_binary.inc()
            if len(data) > self.max_binary:
                await self.error(
                    f"Audio frame too large: binary frames are limited to {self.max_binary} bytes",
                    "frame_size",
                )
                continue
            return bytes(data)

    # --- closing ------------------------------------------------------------------------
    async def close(self, code: int = 1000, reason: str = "", *, grace: float = 0.5) -> None:
        """Send what is queued (up to ``grace`` seconds), then close the socket."""
        if self._sender is not None and not self._sender.done():
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_CLOSE)
            done, _ = await asyncio.wait({self._sender}, timeout=grace)
            if not done:
                self._sender.cancel()
        self.closed = True
        if self.ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason)

    async def finish(self) -> None:
        """After the client disconnected: stop the sender and the idle watchdog."""
        self.closed = True
        for task in (self._sender, self._idle):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def loop_time() -> float:
    return asyncio.get_running_loop().time()

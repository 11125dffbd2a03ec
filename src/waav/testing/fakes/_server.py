"""Serve a Starlette app on 127.0.0.1:<free port> in a background thread, for tests."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from waav._uvicorn_thread import BackgroundServing, ServerThread

__all__ = ["AppServer", "FakeServer", "Faults", "RecordedRequest", "Recorder"]


@dataclass
class Faults:
    """Fault injection switches shared by every vendor fake.

    Each fake honours the switches that make sense for its vendor; a switch a fake cannot
    produce is ignored (documented on the fake).
    """

    #: Refuse the credentials: HTTP 401 (or the vendor's auth error and close on a socket).
    reject_auth: bool = False
    #: Answer HTTP 429 with this ``Retry-After`` (seconds), or the vendor's quota error.
    rate_limit_retry_after: float | None = None
    #: Drop the connection (no close frame / abort the response) after this many client
    #: messages or response chunks.
    drop_after: int | None = None
    #: Delay before the first result / first response byte, in seconds.
    first_result_delay: float = 0.0
    #: Close a stream that received nothing for this many seconds (vendor idle timeout).
    idle_close_after: float | None = None
    #: Never answer the finalize / close-stream message (the stream just stays open).
    ignore_finalize: bool = False
    #: Send a vendor error message instead of results.
    vendor_error: str | None = None
    #: Expire a realtime session after this many seconds (the vendor's session cap).
    session_expires_after: float | None = None


@dataclass
class RecordedRequest:
    """One HTTP request or WebSocket session as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    #: WebSocket sessions: every client message in order (str for text, bytes for binary).
    messages: list[str | bytes] = field(default_factory=list)

    def json_messages(self) -> list[Any]:
        """The text messages of a WebSocket session, parsed as JSON."""
        import json

        return [json.loads(m) for m in self.messages if isinstance(m, str)]

    @property
    def audio_bytes(self) -> int:
        """Total bytes of binary messages received on this session."""
        return sum(len(m) for m in self.messages if isinstance(m, bytes))


class Recorder:
    """Thread-safe log of what a fake received (the server runs in its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def start(self, request: Request | Any, method: str | None = None, body: bytes = b"") -> RecordedRequest:
        """Record a new request/session from a Starlette ``Request`` or ``WebSocket``."""
        rec = RecordedRequest(
            method=method or str(getattr(request, "method", "WEBSOCKET")),
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        with self._lock:
            self._items.append(rec)
        return rec

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class FakeServer(BackgroundServing):
    """Base class: serve :meth:`build_app` on ``127.0.0.1`` on a free port.

    Usable as a context manager from sync tests (``with Fake() as f``) and async tests
    (``async with Fake() as f``); the server runs in its own thread and event loop either
    way, so a test's own loop can block on it without deadlock.
    """

    #: Vendor id (the catalog id the fake stands in for).
    vendor = "fake"
    #: uvicorn's ``lifespan`` setting: fakes have no startup work; a served app may.
    lifespan: Literal["on", "off"] = "off"

    def __init__(self, *, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.recorder = Recorder()
        self._serving: ServerThread | None = None
        self.port = 0

    # --- to implement ---------------------------------------------------------------
    def build_app(self) -> Starlette | ASGIApp:
        """Return the Starlette app with the vendor's routes."""
        raise NotImplementedError

    # --- helpers for vendor fakes ------------------------------------------------------
    def http_fault(self) -> Response | None:
        """The HTTP response the configured faults call for (401 / 429), else None."""
        if self.faults.reject_auth:
            return JSONResponse({"error": "invalid credentials"}, status_code=401)
        if self.faults.rate_limit_retry_after is not None:
            return JSONResponse(
                {"error": "rate limited"},
                status_code=429,
                headers={"Retry-After": f"{self.faults.rate_limit_retry_after:g}"},
            )
        return None

    # --- addresses --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: point an adapter's ``base_url`` here."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>``: the same server, for WebSocket vendors."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Everything the fake received so far (HTTP requests and WebSocket sessions)."""
        return self.recorder.requests

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> FakeServer:
        """Bind a free port and serve until :meth:`stop`."""
        if self._serving is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.build_app(),
            log_level="warning",
            lifespan=self.lifespan,
            ws_max_size=64 * 1024 * 1024,
            ws_ping_interval=None,
            timeout_graceful_shutdown=1,
        )
        self._serving = ServerThread(uvicorn.Server(config), sock, name=f"fake-{self.vendor}")
        if not self._serving.start(timeout=10):
            raise RuntimeError(f"fake {self.vendor} server did not start")
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._serving is not None:
            self._serving.stop(timeout=5)
        self._serving = None


class AppServer(FakeServer):
    """Serve any ASGI app on ``127.0.0.1:<free port>`` with its lifespan, for tests.

    ``with AppServer(create_app(config)) as srv: httpx.get(srv.base_url + "/health")`` —
    the same thread-and-free-port machinery as the vendor fakes, so tests talk to a real
    uvicorn server over real sockets.
    """

    vendor = "app"
    lifespan: Literal["on", "off"] = "on"

    def __init__(self, app: ASGIApp) -> None:
        super().__init__()
        self._app = app

    def build_app(self) -> ASGIApp:
        return self._app

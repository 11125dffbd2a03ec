"""``GatewayServer``: run the gateway app with uvicorn, in a background thread or in the foreground."""

from __future__ import annotations

import gc
import logging
import socket
from types import FrameType
from typing import Any

import uvicorn

from waav._exceptions import WaavError
from waav._uvicorn_thread import BackgroundServing, ServerThread
from waav.config import ServerConfig
from waav.gateway._state import GatewayState
from waav.gateway.app import create_app, gateway_state
from waav.plugin import PluginRegistry

__all__ = ["GatewayServer"]

log = logging.getLogger("waav.gateway")
#: Upgrade limit of the upstream (10 MiB); the app enforces the 1 MiB / 5 MiB frame limits.
WS_MAX_SIZE = 10 * 1024 * 1024


class _Server(uvicorn.Server):
    """uvicorn closes WebSockets (1012) as soon as it shuts down; drain our sessions first."""

    state: GatewayState | None = None
    #: Tune the garbage collector (only when the server owns the process: ``serve()``).
    tune_gc = False

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.tune_gc:
            # Everything allocated so far (modules, plugins) lives as long as the process: move
            # it out of the collector's reach, so a full collection under load scans only
            # session objects; and collect the young generation less often (every frame
            # allocates a few short-lived dicts and futures; at 700 the collector ran ~50 times
            # a second under load, ~12 % of the server's CPU in the load benchmark).
            gc.collect()
            gc.freeze()
            gc.set_threshold(20_000, 20, 100)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.state is not None:
            try:
                await self.state.drain()
            except Exception:  # pragma: no cover - draining must never block the exit
                log.exception("draining sessions failed")
        await super().shutdown(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A signal-initiated graceful stop is `waav serve`'s normal end: exit 0 instead of
        # uvicorn re-raising the signal afterwards (a KeyboardInterrupt traceback for SIGINT).
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


class GatewayServer(BackgroundServing):
    """The gateway on ``config.server.host:port`` (port 0: a free port).

    ``start()`` serves from a background thread and returns once listening (tests, embedding);
    ``serve()`` runs in the foreground until SIGINT/SIGTERM (``waav serve``). ``stop()`` is
    graceful: new sessions are refused, open ones finish queued speech (up to
    ``gateway.drain_timeout_seconds``) and are closed with 1001.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        registry: PluginRegistry | None = None,
        log_level: str = "warning",
        loop: str = "auto",
        ws: str = "auto",
    ) -> None:
        self.config = config or ServerConfig()
        self.app = create_app(self.config, registry=registry)
        self.state = gateway_state(self.app)
        self.log_level = log_level
        #: uvicorn's event loop: "auto" (uvloop when installed), "asyncio" or "uvloop".
        self.loop = loop
        #: uvicorn's WebSocket implementation ("auto": websockets' sans-I/O protocol).
        self.ws = ws
        self.host = self.config.server.host
        self.port = self.config.server.port
        self._serving: ServerThread | None = None

    # --- addresses ------------------------------------------------------------------------
    @property
    def _client_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    @property
    def url(self) -> str:
        return f"http://{self._client_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._client_host}:{self.port}/ws"

    @property
    def realtime_url(self) -> str:
        return f"ws://{self._client_host}:{self.port}/realtime"

    # --- running ------------------------------------------------------------------------
    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise WaavError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.listen(2048)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        return sock

    def _make_server(self) -> _Server:
        tls = self.config.server.tls
        kw: dict[str, Any] = {}
        if tls.enabled:
            kw = {"ssl_certfile": tls.cert_path, "ssl_keyfile": tls.key_path}
        cfg = uvicorn.Config(
            self.app,
            log_level=self.log_level,
            loop=self.loop,
            ws=self.ws,
            lifespan="on",
            ws_max_size=WS_MAX_SIZE,
            ws_ping_interval=20.0,
            timeout_graceful_shutdown=max(1, int(self.config.gateway.drain_timeout_seconds) + 1),
            backlog=2048,
            **kw,
        )
        server = _Server(cfg)
        server.state = self.state
        return server

    def start(self) -> GatewayServer:
        """Serve in a background thread; return once the server accepts connections."""
        if self._serving is not None:
            return self
        sock = self._bind()
        self._serving = ServerThread(self._make_server(), sock, name="waav-gateway")
        if not self._serving.start(timeout=15):
            self.stop()
            raise WaavError(f"the gateway did not start on {self.host}:{self.port}")
        return self

    def serve(self) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (then drain and exit)."""
        sock = self._bind()
        server = self._make_server()
        server.tune_gc = True
        log.info(
            "waav gateway listening on %s:%d: %s (WebSocket %s, realtime %s)",
            self.host,
            self.port,
            self.url,
            self.ws_url,
            self.realtime_url,
        )
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    def stop(self) -> None:
        """Graceful stop (see the class docstring); returns when the server has exited."""
        if self._serving is not None:
            self._serving.stop(timeout=self.config.gateway.drain_timeout_seconds + 10)
        self._serving = None

"""``create_app``: the gateway as an ASGI app (Starlette), mountable in any ASGI application."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from waav.config import ServerConfig
from waav.gateway import rest
from waav.gateway._state import GatewayState
from waav.gateway.realtime import realtime_endpoint
from waav.gateway.security import Authenticator, build_middleware_stack
from waav.gateway.ws.session import ws_endpoint
from waav.plugin import PluginRegistry, global_registry
from waav.plugin.capabilities import ASGIApp

__all__ = ["GatewayApp", "create_app", "gateway_state"]


class GatewayApp:
    """The gateway's ASGI app: the routes wrapped in the middleware stack (``state``: shared)."""

    def __init__(self, app: ASGIApp, routes: Starlette, state: GatewayState) -> None:
        self._app = app
        self.routes = routes
        self.state = routes.state
        self.waav = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _http(
    state: GatewayState, fn: Callable[[GatewayState, Request], Awaitable[Response]], path: str
) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        response = await fn(state, request)
        state.metrics.inc("waav_http_requests_total", path=path, status=str(response.status_code))
        return response

    return endpoint


def _ws(
    state: GatewayState, fn: Callable[[GatewayState, WebSocket], Awaitable[None]]
) -> Callable[[WebSocket], Awaitable[None]]:
    @functools.wraps(fn)
    async def endpoint(websocket: WebSocket) -> None:
        await fn(state, websocket)

    return endpoint


def create_app(config: ServerConfig | None = None, *, registry: PluginRegistry | None = None) -> GatewayApp:
    """Build the gateway app for ``config`` (default: ``ServerConfig()``) over ``registry``
    (default: the process-wide :func:`~waav.plugin.global_registry`).

    Routes: ``GET /``, ``/health``, ``/voices``, ``/plugins``, ``/metrics``, ``POST /speak``,
    WebSockets ``/ws`` and ``/realtime``. The app's lifespan starts the registry's plugins and,
    at shutdown, drains open sessions; when mounted inside another app (whose lifespan does not
    reach mounted apps) plugins are started on first use instead.

    The routes sit inside the middleware stack of :mod:`waav.gateway.security` (request
    logging, security headers, CORS, WebSocket connection caps, client auth, rate limits and
    middleware plugins, in priority order). A bad auth configuration raises
    :class:`waav.ConfigError` here, not at the first request.
    """
    config = config or ServerConfig()
    registry = registry if registry is not None else global_registry()
    config.apply(registry)
    authenticator = Authenticator(config, registry)
    state = GatewayState(config, registry, authenticator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.startup()
        try:
            yield
        finally:
            await state.shutdown()

    routes: list[Any] = [
        Route("/", _http(state, rest.root, "/"), methods=["GET"]),
        Route("/health", _http(state, rest.health, "/health"), methods=["GET"]),
        Route("/voices", _http(state, rest.voices, "/voices"), methods=["GET"]),
        Route("/plugins", _http(state, rest.plugins, "/plugins"), methods=["GET"]),
        Route("/metrics", _http(state, rest.metrics, "/metrics"), methods=["GET"]),
        Route("/speak", _http(state, rest.speak, "/speak"), methods=["POST"]),
        WebSocketRoute("/ws", _ws(state, ws_endpoint)),
        WebSocketRoute("/realtime", _ws(state, realtime_endpoint)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.waav = state
    stack = build_middleware_stack(app, config, registry, authenticator=authenticator)
    return GatewayApp(stack, app, state)


def gateway_state(app: Any) -> GatewayState:
    """The :class:`GatewayState` of an app made by :func:`create_app`."""
    state: GatewayState = app.state.waav
    return state

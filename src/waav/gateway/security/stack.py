"""``build_middleware_stack``: wrap the gateway app in every middleware plugin, by priority.

Isolation: a middleware whose factory raises is logged, counted on its registry entry (the
registry's isolation wrapper) and skipped; the gateway still serves. Each layer (and the app
itself) runs inside a guard: an exception escaping it is logged and that request gets a 500
(or its WebSocket a 1011 close) while every other request goes on. The guard also appends the
layer's id to ``scope["waav.middleware"]``, the order the request went through (for
debugging and tests).
"""

from __future__ import annotations

import logging
from typing import Any

from waav._exceptions import WaavError
from waav.config import ServerConfig
from waav.gateway.security._asgi import ASGIApp, Receive, Scope, Send, reject
from waav.gateway.security.auth import Authenticator
from waav.gateway.security.builtin import BUILTIN_MIDDLEWARES, ensure_builtin_middlewares
from waav.gateway.security.middleware import SecurityContext
from waav.plugin.registry import PluginRegistry

__all__ = ["TRACE_KEY", "build_middleware_stack"]

log = logging.getLogger("waav.gateway")

#: Scope key listing the middleware ids a request passed through, outermost first.
TRACE_KEY = "waav.middleware"
_STATE_KEY = "waav.response_state"
_STARTS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})
_BUILTIN_IDS = frozenset(m.middleware_id for m in BUILTIN_MIDDLEWARES)


class _ResponseState:
    """Whether the response / handshake reached the server, and whether it is finished."""

    __slots__ = ("closed", "started")

    def __init__(self) -> None:
        self.started = False
        self.closed = False

    def wrap(self, send: Send) -> Send:
        async def tracked(message: Any) -> None:
            kind = message["type"]
            if kind in _STARTS:
                self.started = True
            elif kind == "websocket.close" or (
                kind in ("http.response.body", "websocket.http.response.body")
                and not message.get("more_body", False)
            ):
                self.closed = True
            await send(message)

        return tracked


class _Guard:
    """Runs one layer; contains what escapes it to the current request."""

    __slots__ = ("app", "name")

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.get(_STATE_KEY)
        if state is None:  # only the outermost guard wraps `send`: one extra call per message
            state = scope[_STATE_KEY] = _ResponseState()
            send = state.wrap(send)
        trace = scope.get(TRACE_KEY)
        if trace is None:
            trace = scope[TRACE_KEY] = []
        trace.append(self.name)
        try:
            await self.app(scope, receive, send)
        except Exception:
            where = "the app" if self.name == "app" else f"middleware {self.name!r}"
            log.exception("%s raised handling %s %s", where, scope["type"], scope.get("path"))
            await self._fail(scope, send, state)

    async def _fail(self, scope: Scope, send: Send, state: _ResponseState) -> None:
        if state.closed:
            return
        try:
            if not state.started:
                await reject(
                    scope, send, 500, {"error": "internal_error", "message": "Internal server error"}
                )
            elif scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011, "reason": "internal error"})
            # an HTTP response already under way cannot be turned into a 500; the server
            # closes the connection when the app returns without finishing it
        except Exception:  # the client is gone; nothing more to do for this request
            log.debug("could not report the failure to the client", exc_info=True)


def build_middleware_stack(
    app: ASGIApp,
    config: ServerConfig,
    registry: PluginRegistry,
    *,
    authenticator: Authenticator,
) -> ASGIApp:
    """Wrap ``app`` in every middleware plugin of ``registry`` (built-ins included).

    Lower priority = outer = runs first on the request. Built-ins receive the shared
    security state (limiters, the authenticator); other middlewares receive their
    ``plugins.providers.<id>`` section as options.
    """
    ensure_builtin_middlewares(registry)
    ctx = SecurityContext.build(config, authenticator)
    wrapped: ASGIApp = _Guard(app, "app")
    for mid in reversed(registry.get_middleware_names()):
        options: dict[str, Any] = dict(config.plugins.provider_config.get(mid) or {})
        if mid in _BUILTIN_IDS and registry.plugin(f"middleware:{mid}").builtin:
            options["context"] = ctx
        try:
            layer = registry.create_middleware(mid, wrapped, options)
        except WaavError as exc:
            log.error("middleware %r not installed (the gateway serves without it): %s", mid, exc)
            continue
        if not callable(layer):
            log.error("middleware %r not installed: its factory returned %r, not an ASGI app", mid, layer)
            continue
        wrapped = _Guard(layer, mid)
    return wrapped

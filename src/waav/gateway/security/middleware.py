"""The built-in ASGI middlewares: request logging, security headers, CORS, WebSocket connection
caps, auth and rate limiting. Each is plain ASGI; :mod:`.builtin` registers them as plugins.

WebSocket traffic is only looked at during the handshake: after ``websocket.accept`` no
built-in wraps ``send``/``receive``, so audio frames pay nothing for this layer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.middleware.cors import CORSMiddleware

from waav._exceptions import ClientAuthError
from waav.config import ServerConfig
from waav.gateway.security._asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    headers_of,
    query_of,
    reject,
    route_path,
)
from waav.gateway.security._client import client_ip, client_key
from waav.gateway.security.auth import PENDING_PATHS, Authenticator, scope_identity, set_scope_identity
from waav.gateway.security.auth_service import MAX_BUFFERED_BODY, RequestInfo, parse_body, request_context
from waav.gateway.security.ratelimit import ConnectionLimiter, TokenBucketLimiter

__all__ = [
    "AuthMiddleware",
    "ConnectionLimitMiddleware",
    "RateLimitMiddleware",
    "RequestLoggingMiddleware",
    "SecurityContext",
    "SecurityHeadersMiddleware",
    "cors_middleware",
]

access_log = logging.getLogger("waav.gateway.access")

#: Headers added to every HTTP response that does not set them already (upstream: the first two).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
#: CORS methods / headers of the upstream (§1.11).
CORS_METHODS_ANY = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
CORS_METHODS_NONE = ("GET", "POST", "OPTIONS")
CORS_HEADERS = ("authorization", "content-type", "x-provider-api-key")


@dataclass
class SecurityContext:
    """State shared by the built-in middlewares of one app (limiters live here)."""

    config: ServerConfig
    authenticator: Authenticator | None = None
    limiter: TokenBucketLimiter | None = None
    connections: ConnectionLimiter = field(default_factory=lambda: ConnectionLimiter(None, None))

    @classmethod
    def build(cls, config: ServerConfig, authenticator: Authenticator | None = None) -> SecurityContext:
        sec = config.security
        limiter = (
            TokenBucketLimiter(
                sec.rate_limit_requests_per_second,
                sec.rate_limit_burst_size,
                max_clients=sec.rate_limit_max_clients,
            )
            if sec.rate_limit_enabled
            else None
        )
        conns = ConnectionLimiter(sec.max_websocket_connections, sec.max_connections_per_ip)
        return cls(config, authenticator, limiter, conns)

    def client_ip(self, scope: Scope) -> str:
        return client_ip(scope, self.config.security)


# --- request logging --------------------------------------------------------------------------


class RequestLoggingMiddleware:
    """One access-log line per HTTP request and per WebSocket connection (on close).

    The query string is never logged: it may carry ``?token=``.
    """

    def __init__(self, app: ASGIApp, ctx: SecurityContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0
        if kind == "http":

            async def send_status(message: dict[str, object]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])  # type: ignore[call-overload]
                await send(message)

            try:
                await self.app(scope, receive, send_status)  # type: ignore[arg-type]
            finally:
                ms = (time.perf_counter() - start) * 1000
                access_log.info(
                    "%s %s %s %.1fms %s",
                    scope.get("method"),
                    scope.get("path"),
                    status or "-",
                    ms,
                    self.ctx.client_ip(scope),
                )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            access_log.info(
                "WS %s closed after %.1fs %s",
                scope.get("path"),
                time.perf_counter() - start,
                self.ctx.client_ip(scope),
            )


# --- security headers ---------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    """Adds ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())  # type: ignore[call-overload]
                present = {bytes(k).lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)  # type: ignore[arg-type]


# --- CORS -------------------------------------------------------------------------------------


def cors_middleware(app: ASGIApp, config: ServerConfig) -> ASGIApp:
    """CORS with the upstream's ``CORS_ALLOWED_ORIGINS`` semantics.

    ``*``: any origin, methods GET/POST/PUT/DELETE/OPTIONS, headers authorization,
    content-type, x-provider-api-key, no credentials. A comma list: those origins, with
    credentials. Unset/empty: no ``Access-Control-Allow-Origin`` at all (same-origin only).
    """
    raw = (config.security.cors_allowed_origins or "").strip()
    origins = [o.strip() for o in raw.split(",") if o.strip()]
    if origins == ["*"]:
        return CORSMiddleware(
            app, allow_origins=["*"], allow_methods=CORS_METHODS_ANY, allow_headers=CORS_HEADERS
        )
    if origins:
        return CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=CORS_METHODS_ANY,
            allow_headers=CORS_HEADERS,
            allow_credentials=True,
        )
    return CORSMiddleware(app, allow_origins=[], allow_methods=CORS_METHODS_NONE, allow_headers=CORS_HEADERS)


# --- WebSocket connection caps -------------------------------------------------------------------


class ConnectionLimitMiddleware:
    """WebSocket caps: ``max_websocket_connections`` in total (503), ``max_connections_per_ip``
    per client address (429). The slot is released when the connection's handler returns."""

    def __init__(self, app: ASGIApp, ctx: SecurityContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        ip = self.ctx.client_ip(scope)
        conns = self.ctx.connections
        full = conns.acquire(ip)
        if full == "global":
            await reject(
                scope,
                send,
                503,
                {"error": "server_at_capacity", "message": "Server at capacity, please try again later"},
                {"retry-after": "5"},
            )
            return
        if full == "per_ip":
            await reject(
                scope,
                send,
                429,
                {
                    "error": "too_many_connections",
                    "message": "Too many WebSocket connections from this address",
                },
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            conns.release(ip)


# --- auth -------------------------------------------------------------------------------------


class AuthMiddleware:
    """Authenticates every request except ``auth.public_paths`` (default ``/`` and ``/health``).

    Required auth: no credentials → 401 ``missing_auth_header``, except WebSockets on
    ``/ws`` and ``/realtime``, which go on in *pending* state (:func:`scope_auth_pending`);
    bad credentials → 401 (``invalid_auth_header`` / ``unauthorized``), or the strategy's
    503/500. Failed attempts are charged to the client address's rate-limit bucket, so
    guessing secrets is throttled (429 once it is empty). Not required: valid credentials
    still identify the client (tenant, rate-limit key); invalid ones are ignored.
    """

    def __init__(self, app: ASGIApp, ctx: SecurityContext) -> None:
        assert ctx.authenticator is not None
        self.app = app
        self.ctx = ctx
        self.auth: Authenticator = ctx.authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or not self.auth.active:
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        if path in self.auth.public_paths and kind == "http":
            set_scope_identity(scope, None)
            await self.app(scope, receive, send)
            return
        headers = headers_of(scope)
        if self.auth.wants_request:
            receive, body = await _buffer_body(scope, receive)
            info = RequestInfo(scope.get("method", "GET"), path, headers, parse_body(body))
        else:
            info = RequestInfo(scope.get("method", "GET"), path, headers)
        try:
            with request_context(info):
                identity = await self.auth.authenticate_credentials(headers, query_of(scope))
        except ClientAuthError as exc:
            if not self.auth.required:
                set_scope_identity(scope, None)
                await self.app(scope, receive, send)
                return
            await self._deny(scope, send, exc)
            return
        if identity is None and self.auth.required:
            if kind == "websocket" and path in PENDING_PATHS:
                set_scope_identity(scope, None, pending=True)
                await self.app(scope, receive, send)
                return
            await self._deny(
                scope, send, ClientAuthError("missing_auth_header", "Missing authentication token")
            )
            return
        set_scope_identity(scope, identity)
        await self.app(scope, receive, send)

    async def _deny(self, scope: Scope, send: Send, exc: ClientAuthError) -> None:
        limiter = self.ctx.limiter
        if limiter is not None and exc.status == 401:
            decision = limiter.take(client_key(None, self.ctx.client_ip(scope)))
            if not decision.allowed:
                await _too_many(scope, send, decision.retry_after_header)
                return
        headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
        await reject(scope, send, exc.status, exc.body(), headers)


async def _buffer_body(scope: Scope, receive: Receive) -> tuple[Receive, bytes | None]:
    """Read the HTTP body (up to MAX_BUFFERED_BODY) and a ``receive`` that replays it.

    Returns body None when it is larger (the app still gets all of it) or for WebSockets.
    """
    if scope["type"] != "http":
        return receive, None
    held: list[Any] = []
    chunks: list[bytes] = []
    size = 0
    complete = False
    while True:
        message = await receive()
        held.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BUFFERED_BODY:
            break
        chunks.append(chunk)
        if not message.get("more_body", False):
            complete = True
            break

    async def replay() -> Any:
        if held:
            return held.pop(0)
        return await receive()

    return replay, b"".join(chunks) if complete else None


# --- rate limit ---------------------------------------------------------------------------------


async def _too_many(scope: Scope, send: Send, retry_after: str) -> None:
    await reject(
        scope,
        send,
        429,
        {"error": "rate_limited", "message": f"Too many requests, retry after {retry_after} s"},
        {"retry-after": retry_after},
    )


class RateLimitMiddleware:
    """Token bucket per client (auth id when known, else address): 429 with ``Retry-After``.

    Applies to every HTTP request and WebSocket handshake (not to messages on an open socket).
    """

    def __init__(self, app: ASGIApp, ctx: SecurityContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.ctx.limiter
        if limiter is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        identity = scope_identity(scope)
        # an identity without id (auth-service answered without one) is keyed by address
        key = client_key(identity.id if identity and identity.id else None, self.ctx.client_ip(scope))
        decision = limiter.take(key)
        if not decision.allowed:
            await _too_many(scope, send, decision.retry_after_header)
            return
        await self.app(scope, receive, send)

"""The built-in middleware and auth-strategy plugins (real capability objects, listed by the registry).

Middleware priorities (lower runs first on the request; user plugins default to 100, i.e.
inside all of these, where the client's identity is known)::

    0 request-logging → 10 security-headers → 20 cors → 30 connection-limit → 40 auth → 50 rate-limit

Logging is outermost so it sees every answer; headers and CORS wrap the 401/429 answers too;
CORS answers preflights before auth (they carry no credentials); the connection cap runs before
auth as upstream; rate limiting runs after auth so it can key by the authenticated id (failed
auth attempts are charged to the address by the auth middleware itself).

Built-in middlewares get the shared :class:`~.middleware.SecurityContext` from
:func:`waav.gateway.security.build_middleware_stack` as ``options["context"]``; created on
their own (``registry.create_middleware("cors", app, {})``) they use the default config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from waav._exceptions import ConfigError
from waav.config import ServerConfig
from waav.gateway.security._asgi import ASGIApp
from waav.gateway.security.auth_service import AuthServiceStrategy
from waav.gateway.security.middleware import (
    AuthMiddleware,
    ConnectionLimitMiddleware,
    RateLimitMiddleware,
    RequestLoggingMiddleware,
    SecurityContext,
    SecurityHeadersMiddleware,
    cors_middleware,
)
from waav.gateway.security.strategies import ApiKeyStrategy, JwtStrategy
from waav.plugin.capabilities import AuthCapability, AuthStrategy, MiddlewareCapability
from waav.plugin.metadata import ProviderMetadata
from waav.plugin.registry import PluginRegistry

__all__ = [
    "API_KEY",
    "AUTH",
    "AUTH_SERVICE",
    "BUILTIN_AUTH_STRATEGIES",
    "BUILTIN_MIDDLEWARES",
    "CONNECTION_LIMIT",
    "CORS",
    "JWT",
    "RATE_LIMIT",
    "REQUEST_LOGGING",
    "SECURITY_HEADERS",
    "BuiltinAuthStrategy",
    "BuiltinMiddleware",
    "ensure_builtin_auth_strategies",
    "ensure_builtin_middlewares",
]


def _context(options: Mapping[str, Any]) -> SecurityContext:
    ctx = options.get("context")
    if isinstance(ctx, SecurityContext):
        return ctx
    config = options.get("server_config")
    return SecurityContext.build(config if isinstance(config, ServerConfig) else ServerConfig())


class BuiltinMiddleware(MiddlewareCapability):
    """A built-in middleware plugin: id, priority, description and a builder."""

    def __init__(
        self,
        id: str,
        priority: int,
        display: str,
        description: str,
        build: Callable[[ASGIApp, SecurityContext], ASGIApp],
    ) -> None:
        self._id = id
        self._priority = priority
        self._display = display
        self._description = description
        self._build = build

    @property
    def middleware_id(self) -> str:
        return self._id

    @property
    def priority(self) -> int:
        return self._priority

    def create_middleware(self, app: ASGIApp, config: Mapping[str, Any]) -> ASGIApp:
        return self._build(app, _context(config))

    def metadata(self) -> ProviderMetadata:
        return (
            ProviderMetadata.middleware(self._id, self._display)
            .with_description(self._description)
            .with_features(["builtin"])
            .with_extra(priority=self._priority)
        )

    def __repr__(self) -> str:
        return f"BuiltinMiddleware({self._id!r}, priority={self._priority})"


def _auth(app: ASGIApp, ctx: SecurityContext) -> ASGIApp:
    if ctx.authenticator is None:
        raise ConfigError(
            "the auth middleware needs an Authenticator: build the stack with "
            "waav.gateway.security.build_middleware_stack(..., authenticator=...)"
        )
    return AuthMiddleware(app, ctx)


REQUEST_LOGGING = BuiltinMiddleware(
    "request-logging",
    0,
    "Request logging",
    "One access-log line per HTTP request / WebSocket connection (logger waav.gateway.access)",
    RequestLoggingMiddleware,
)
SECURITY_HEADERS = BuiltinMiddleware(
    "security-headers",
    10,
    "Security headers",
    "X-Content-Type-Options: nosniff, X-Frame-Options: DENY, Referrer-Policy: no-referrer",
    lambda app, ctx: SecurityHeadersMiddleware(app),
)
CORS = BuiltinMiddleware(
    "cors",
    20,
    "CORS",
    "CORS_ALLOWED_ORIGINS: '*' any origin, a comma list with credentials, unset same-origin only",
    lambda app, ctx: cors_middleware(app, ctx.config),
)
CONNECTION_LIMIT = BuiltinMiddleware(
    "connection-limit",
    30,
    "WebSocket connection caps",
    "MAX_WEBSOCKET_CONNECTIONS (503) and MAX_CONNECTIONS_PER_IP (429), released on close",
    ConnectionLimitMiddleware,
)
AUTH = BuiltinMiddleware(
    "auth",
    40,
    "Authentication",
    "Bearer / ?token= credentials checked by the configured auth strategies (AUTH_REQUIRED)",
    _auth,
)
RATE_LIMIT = BuiltinMiddleware(
    "rate-limit",
    50,
    "Rate limiting",
    "Token bucket per client: RATE_LIMIT_REQUESTS_PER_SECOND refill, RATE_LIMIT_BURST_SIZE burst",
    RateLimitMiddleware,
)
BUILTIN_MIDDLEWARES: tuple[BuiltinMiddleware, ...] = (
    REQUEST_LOGGING,
    SECURITY_HEADERS,
    CORS,
    CONNECTION_LIMIT,
    AUTH,
    RATE_LIMIT,
)


class BuiltinAuthStrategy(AuthCapability):
    """A built-in auth strategy plugin."""

    def __init__(
        self, id: str, display: str, description: str, factory: Callable[[Mapping[str, Any]], AuthStrategy]
    ) -> None:
        self._id = id
        self._display = display
        self._description = description
        self._factory = factory

    @property
    def strategy_id(self) -> str:
        return self._id

    def create_strategy(self, config: Mapping[str, Any]) -> AuthStrategy:
        return self._factory(config)

    def metadata(self) -> ProviderMetadata:
        return (
            ProviderMetadata.auth(self._id, self._display)
            .with_description(self._description)
            .with_features(["builtin"])
        )

    def __repr__(self) -> str:
        return f"BuiltinAuthStrategy({self._id!r})"


API_KEY = BuiltinAuthStrategy(
    "api-key",
    "API secrets",
    "Upstream API secrets (AUTH_API_SECRETS_JSON, AUTH_API_SECRET[_ID]); identity = secret id",
    ApiKeyStrategy,
)
JWT = BuiltinAuthStrategy(
    "jwt",
    "JWT",
    "JWT (HS256/RS256/ES256…) with configured keys; exp/nbf/iss/aud checked; identity = sub",
    JwtStrategy,
)
AUTH_SERVICE = BuiltinAuthStrategy(
    "auth-service",
    "External auth service",
    "Upstream mode 2: a signed JWT describing the request POSTed to AUTH_SERVICE_URL",
    AuthServiceStrategy,
)
BUILTIN_AUTH_STRATEGIES: tuple[BuiltinAuthStrategy, ...] = (API_KEY, JWT, AUTH_SERVICE)


def ensure_builtin_middlewares(registry: PluginRegistry) -> None:
    """Register the built-in middlewares that the registry does not have yet (entry points
    register them in the global registry; a fresh ``PluginRegistry()`` gets them here)."""
    for cap in BUILTIN_MIDDLEWARES:
        if not registry.has_middleware(cap.middleware_id):
            registry.register_capability(cap, source="builtin")


def ensure_builtin_auth_strategies(registry: PluginRegistry) -> None:
    """Register the built-in auth strategies that the registry does not have yet."""
    for cap in BUILTIN_AUTH_STRATEGIES:
        if not registry.has_auth_strategy(cap.strategy_id):
            registry.register_capability(cap, source="builtin")

"""The gateway's security layer: middleware plugins, client auth, rate limits, connection caps.

Wiring (the gateway's ``create_app`` does this)::

    authenticator = Authenticator(config, registry)        # ConfigError on bad auth config
    app = build_middleware_stack(app, config, registry, authenticator=authenticator)

* Middlewares are :class:`~waav.plugin.MiddlewareCapability` plugins, built-ins included
  (``request-logging`` 0, ``security-headers`` 10, ``cors`` 20, ``connection-limit`` 30,
  ``auth`` 40, ``rate-limit`` 50); lower priority runs first. See :mod:`.builtin`.
* Auth strategies are :class:`~waav.plugin.AuthCapability` plugins (``api-key``, ``jwt``),
  tried in ``auth.strategies`` order. Off unless ``auth.required``. ``/`` and ``/health``
  (``auth.public_paths``) never need credentials; a ``/ws`` or ``/realtime`` connection
  without credentials is let in *pending* (:func:`scope_auth_pending`) for the first-message
  ``auth`` flow, which calls :meth:`Authenticator.authenticate_token` and then
  :func:`set_scope_identity`.
* Errors answer ``{"error": code, "message": text}`` with the upstream codes.
"""

from __future__ import annotations

from waav._exceptions import ClientAuthError
from waav.gateway.security.auth import (
    PENDING_PATHS,
    Authenticator,
    AuthState,
    scope_auth_pending,
    scope_identity,
    set_scope_identity,
)
from waav.gateway.security.builtin import (
    BUILTIN_AUTH_STRATEGIES,
    BUILTIN_MIDDLEWARES,
    ensure_builtin_auth_strategies,
    ensure_builtin_middlewares,
)
from waav.gateway.security.middleware import SecurityContext
from waav.gateway.security.ratelimit import ConnectionLimiter, RateDecision, TokenBucketLimiter
from waav.gateway.security.stack import TRACE_KEY, build_middleware_stack
from waav.gateway.security.strategies import ApiKeyStrategy, JwtStrategy

__all__ = [
    "BUILTIN_AUTH_STRATEGIES",
    "BUILTIN_MIDDLEWARES",
    "PENDING_PATHS",
    "TRACE_KEY",
    "ApiKeyStrategy",
    "AuthState",
    "Authenticator",
    "ClientAuthError",
    "ConnectionLimiter",
    "JwtStrategy",
    "RateDecision",
    "SecurityContext",
    "TokenBucketLimiter",
    "build_middleware_stack",
    "ensure_builtin_auth_strategies",
    "ensure_builtin_middlewares",
    "scope_auth_pending",
    "scope_identity",
    "set_scope_identity",
]

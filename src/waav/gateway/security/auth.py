"""Client authentication: the :class:`Authenticator` and what the auth middleware leaves in the scope.

Strategies are :class:`~waav.plugin.AuthCapability` plugins (built-ins ``api-key`` and ``jwt``),
tried in the configured order; the first that accepts the token wins. Token extraction follows
the upstream (§1.10): ``Authorization: Bearer <t>`` (any other ``Authorization`` value is
``invalid_auth_header``, unless a non-built-in strategy extracts its own credentials from the
headers), else the ``?token=`` query parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from waav._exceptions import AuthenticationError, ClientAuthError, ConfigError, WaavError
from waav.config import ServerConfig
from waav.gateway.security._asgi import Scope
from waav.plugin._typed import to_dict
from waav.plugin.capabilities import AuthCredentials, AuthIdentity, AuthStrategy
from waav.plugin.registry import PluginRegistry

__all__ = [
    "PENDING_PATHS",
    "AuthState",
    "Authenticator",
    "scope_auth_pending",
    "scope_identity",
    "set_scope_identity",
]

log = logging.getLogger("waav.gateway.auth")

#: WebSocket paths accepted without credentials (``pending``) when auth is required: the
#: handler then runs the first-message ``auth`` flow.
PENDING_PATHS = ("/ws", "/realtime")
#: Built-in strategy ids, in the order they are tried when ``auth.strategies`` is empty.
BUILTIN_STRATEGIES = ("api-key", "jwt", "auth-service")
#: Longest token looked at (the upstream caps ``auth.token`` at 4 KiB; headers may carry JWTs).
MAX_TOKEN_BYTES = 8192

_SCOPE_KEY = "waav.auth"


@dataclass
class AuthState:
    """What the auth middleware decided for one request / connection."""

    identity: AuthIdentity | None = None
    pending: bool = False


def scope_identity(scope: Scope) -> AuthIdentity | None:
    """The identity the auth middleware (or :func:`set_scope_identity`) stored, if any."""
    state = scope.get(_SCOPE_KEY)
    return state.identity if isinstance(state, AuthState) else None


def scope_auth_pending(scope: Scope) -> bool:
    """True for a ``/ws`` or ``/realtime`` connection let in without credentials while auth is
    required: its handler must run the first-message ``auth`` flow before anything else."""
    state = scope.get(_SCOPE_KEY)
    return isinstance(state, AuthState) and state.pending


def set_scope_identity(scope: Scope, identity: AuthIdentity | None, *, pending: bool = False) -> None:
    """Record the identity of a request/connection (the ``/ws`` handler calls this after a
    successful first-message ``auth``; it clears the pending flag)."""
    scope[_SCOPE_KEY] = AuthState(identity, pending)


def _auto_strategies(config: ServerConfig) -> list[str]:
    auth = config.auth
    out = []
    if auth.api_secrets or auth.api_secret:
        out.append("api-key")
    if auth.jwt.configured:
        out.append("jwt")
    if auth.service_url:
        out.append("auth-service")
    return out


def _builtin_options(name: str, config: ServerConfig) -> dict[str, Any] | None:
    auth = config.auth
    if name == "api-key":
        secrets = [{"id": s.id, "secret": s.secret} for s in auth.api_secrets]
        if auth.api_secret:
            secrets.append({"id": auth.api_secret_id, "secret": auth.api_secret})
        return {"secrets": secrets}
    if name == "jwt":
        return to_dict(auth.jwt)
    if name == "auth-service":
        return {
            "url": auth.service_url,
            "signing_key_path": auth.signing_key_path,
            "timeout_seconds": auth.timeout_seconds,
        }
    return None


class Authenticator:
    """Authenticates gateway clients with the configured strategy plugins.

    Built at startup: a strategy that cannot be built (unknown id, missing keys) is a
    :class:`waav.ConfigError`, as is ``auth.required`` without any strategy.
    """

    def __init__(self, config: ServerConfig, registry: PluginRegistry) -> None:
        from waav.gateway.security.builtin import ensure_builtin_auth_strategies

        ensure_builtin_auth_strategies(registry)
        self.config = config
        names = list(config.auth.strategies) or _auto_strategies(config)
        if config.auth.required and not names:
            raise ConfigError(
                "auth.required is set but no auth strategy is configured: set API secrets "
                "(AUTH_API_SECRETS_JSON / AUTH_API_SECRET), a JWT key (WAAV_JWT_SECRET / "
                "WAAV_JWT_PUBLIC_KEY) or auth.strategies"
            )
        self._strategies: list[tuple[str, AuthStrategy, bool]] = []
        for name in names:
            cid = registry.resolve("auth", name)
            if cid is None or not registry.has_auth_strategy(cid):
                raise ConfigError(
                    f"auth.strategies: unknown auth strategy {name!r}; "
                    f"available: {registry.get_auth_strategy_names()}"
                )
            builtin = cid in BUILTIN_STRATEGIES and registry.plugin(f"auth:{cid}").builtin
            options = _builtin_options(cid, config) if builtin else None
            if options is None:
                options = dict(config.plugins.provider_config.get(cid) or {})
            try:
                strategy = registry.create_auth_strategy(cid, options)
            except ConfigError:
                raise
            except WaavError as exc:  # crashed / failed plugin: startup must not go on silently
                raise ConfigError(f"auth strategy {cid!r} cannot be built: {exc}") from exc
            self._strategies.append((cid, strategy, builtin))
        self._wants_request = "auth-service" in self.strategy_ids

    @property
    def required(self) -> bool:
        return self.config.auth.required

    @property
    def strategy_ids(self) -> list[str]:
        """The strategies in the order they are tried."""
        return [sid for sid, _, _ in self._strategies]

    @property
    def active(self) -> bool:
        """Whether any strategy is configured (identification happens even when not required)."""
        return bool(self._strategies)

    @property
    def wants_request(self) -> bool:
        """Whether a strategy needs the request itself (``auth-service``: method, path,
        headers, JSON body); the auth middleware then buffers the body (up to 1 MiB)."""
        return self._wants_request

    @property
    def public_paths(self) -> tuple[str, ...]:
        return tuple(self.config.auth.public_paths)

    async def authenticate_credentials(
        self, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> AuthIdentity | None:
        """The identity for these request credentials; None when none were presented.

        Raises :class:`ClientAuthError` when credentials were presented and are invalid.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        authorization = lowered.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return await self.authenticate_token(token.strip())
            custom = await self._custom_credentials(lowered)
            if custom is not None:
                return custom
            raise ClientAuthError(
                "invalid_auth_header", "Invalid Authorization header: expected 'Bearer <token>'"
            )
        query_token = query.get("token")
        if query_token:
            return await self.authenticate_token(query_token)
        return await self._custom_credentials(lowered)

    async def _custom_credentials(self, headers: Mapping[str, str]) -> AuthIdentity | None:
        # Plugin strategies may read their own headers (e.g. X-API-Key); built-ins use Bearer.
        for sid, strategy, builtin in self._strategies:
            if builtin:
                continue
            try:
                creds = strategy.extract_credentials(headers)
            except WaavError as exc:
                log.warning("auth strategy %r failed to extract credentials: %s", sid, exc)
                continue
            if creds is not None:
                return await self._authenticate([(sid, strategy, builtin)], creds)
        return None

    async def authenticate_token(self, token: str) -> AuthIdentity:
        """Try every strategy in order on a bearer token; raises :class:`ClientAuthError`."""
        if not self._strategies:
            raise ClientAuthError(
                "config_error", "Authentication is not configured on this server", status=500
            )
        if not token or len(token.encode()) > MAX_TOKEN_BYTES:
            raise ClientAuthError("unauthorized", "Invalid authentication token")
        return await self._authenticate(self._strategies, AuthCredentials("bearer", token))

    async def _authenticate(
        self, strategies: list[tuple[str, AuthStrategy, bool]], creds: AuthCredentials
    ) -> AuthIdentity:
        rejected: AuthenticationError | None = None
        unavailable: AuthenticationError | None = None
        crashed: WaavError | None = None
        for sid, strategy, _ in strategies:
            try:
                identity = await strategy.authenticate(creds)
            except AuthenticationError as exc:
                log.debug("auth strategy %r rejected the credentials: %s", sid, exc)
                if exc.reason == "service_unavailable":
                    unavailable = exc
                else:
                    rejected = rejected if rejected and rejected.reason == "expired_credentials" else exc
                continue
            except WaavError as exc:  # a crash or timeout (isolation made it a PluginError)
                log.error("auth strategy %r failed: %s", sid, exc)
                crashed = exc
                continue
            if isinstance(identity, AuthIdentity):
                return identity  # id may be "": authenticated, no tenant (upstream auth service)
            log.error("auth strategy %r returned %r instead of an AuthIdentity", sid, identity)
            crashed = WaavError(f"auth strategy {sid!r} returned no identity")
        if unavailable is not None:
            if isinstance(unavailable, ClientAuthError):
                raise unavailable
            raise ClientAuthError("auth_service_unavailable", str(unavailable), status=503)
        if rejected is None and crashed is not None:
            raise ClientAuthError(
                "auth_service_error", "Authentication failed: auth strategy error", status=500
            )
        if isinstance(rejected, ClientAuthError):
            raise rejected
        expired = rejected is not None and rejected.reason == "expired_credentials"
        raise ClientAuthError("unauthorized", "Token expired" if expired else "Invalid authentication token")

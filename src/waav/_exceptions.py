"""The one error tree of waav.

::

    WaavError
    ├── AudioFormatError        (also ValueError)  bad audio input: type, dtype, byte count, rate
    ├── ConfigError             (also ValueError)  bad configuration value, unknown key, bad YAML
    ├── AuthenticationError                        credentials rejected; ``reason`` says why
    │   └── ClientAuthError                        a gateway client's credentials: HTTP status,
    │                                              upstream error ``code`` and message
    ├── PluginError                                a plugin failed (names the plugin)
    │   ├── PluginNotFoundError (also ValueError)  unknown provider / plugin name
    │   ├── PluginUnavailableError                 known, but cannot be created now (adapter not
    │   │                                          installed, failed, stopped, not initialised)
    │   ├── PluginTimeoutError  (also TimeoutError) a plugin call did not finish in time
    │   └── LifecycleError                         illegal plugin state transition
    └── ProviderError                              a provider (vendor or local engine) failed
        ├── ProviderAuthError                      401/403, missing credentials
        ├── ProviderRateLimitError                 429; carries ``retry_after`` seconds
        ├── ProviderConnectionError                network / connect / dropped stream
        ├── ProviderProtocolError                  vendor sent something we cannot parse
        └── ProviderTimeoutError                   the vendor did not answer in time

Input errors subclass :class:`ValueError` so ``except ValueError`` keeps working for
callers that do not know about waav. Native code never imports this module: the audio
layer hands :class:`AudioFormatError` to the native modules once at import time.
"""

from __future__ import annotations

__all__ = [
    "AudioFormatError",
    "AuthenticationError",
    "ClientAuthError",
    "ConfigError",
    "LifecycleError",
    "PluginError",
    "PluginNotFoundError",
    "PluginTimeoutError",
    "PluginUnavailableError",
    "ProviderAuthError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRateLimitError",
    "ProviderTimeoutError",
    "WaavError",
]


class WaavError(Exception):
    """Base class of every error raised by waav."""


class AudioFormatError(WaavError, ValueError):
    """Audio input that cannot be processed as given (type, dtype, length, rate, parameter)."""


class ConfigError(WaavError, ValueError):
    """A configuration value is missing, unknown or invalid."""


class PluginError(WaavError):
    """A plugin raised, timed out or misbehaved; ``plugin_id`` names it."""

    def __init__(self, message: str, *, plugin_id: str | None = None) -> None:
        super().__init__(message)
        self.plugin_id = plugin_id


class PluginNotFoundError(PluginError, ValueError):
    """No provider or plugin is registered under the requested name."""


class PluginUnavailableError(PluginError):
    """The plugin is known but cannot serve: adapter not installed, failed, stopped, not started."""


class PluginTimeoutError(PluginError, TimeoutError):
    """A call into a plugin did not finish within its timeout."""


class AuthenticationError(WaavError):
    """Credentials were rejected.

    ``reason`` is one of ``invalid_credentials``, ``expired_credentials``,
    ``missing_credentials``, ``service_unavailable``, ``configuration``.
    """

    def __init__(self, message: str, *, reason: str = "invalid_credentials") -> None:
        super().__init__(message)
        self.reason = reason


class ClientAuthError(AuthenticationError):
    """A gateway client's credentials are missing, malformed or rejected.

    ``code`` is the upstream error code (``missing_auth_header``, ``invalid_auth_header``,
    ``unauthorized``, ``auth_service_unavailable``, ``auth_service_error``…), ``status`` the
    HTTP status to answer with; :meth:`body` is the upstream JSON error body.
    """

    def __init__(self, code: str, message: str, *, status: int = 401, reason: str | None = None) -> None:
        super().__init__(message, reason=reason or _REASONS.get(code, "invalid_credentials"))
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


_REASONS = {
    "missing_auth_header": "missing_credentials",
    "auth_service_unavailable": "service_unavailable",
    "auth_service_error": "service_unavailable",
    "config_error": "configuration",
}


class LifecycleError(PluginError):
    """A plugin was asked to make a lifecycle transition its state does not allow."""


class ProviderError(WaavError):
    """A speech provider failed; ``provider`` names it when known."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class ProviderAuthError(ProviderError):
    """The provider rejected our credentials, or none were configured."""


class ProviderRateLimitError(ProviderError):
    """The provider throttled us; ``retry_after`` is in seconds when it said."""

    def __init__(
        self, message: str, *, provider: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class ProviderConnectionError(ProviderError):
    """Could not reach the provider, or the connection dropped."""


class ProviderProtocolError(ProviderError):
    """The provider sent a message we do not understand."""


class ProviderTimeoutError(ProviderError):
    """The provider did not answer within the configured time."""


# Show errors as ``waav.AudioFormatError`` (where users import them from), not the private module.
for _cls in (
    WaavError,
    AudioFormatError,
    AuthenticationError,
    ConfigError,
    PluginError,
    PluginNotFoundError,
    PluginUnavailableError,
    PluginTimeoutError,
    LifecycleError,
    ProviderError,
    ProviderAuthError,
    ProviderRateLimitError,
    ProviderConnectionError,
    ProviderProtocolError,
    ProviderTimeoutError,
):
    _cls.__module__ = "waav"
del _cls
# The gateway's own error is public as waav.gateway.security.ClientAuthError.
ClientAuthError.__module__ = "waav.gateway.security"

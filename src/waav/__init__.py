"""waav: a voice gateway and native audio engine for Python."""

from __future__ import annotations

from waav._exceptions import (
    AudioFormatError,
    AuthenticationError,
    ConfigError,
    LifecycleError,
    PluginError,
    PluginNotFoundError,
    PluginTimeoutError,
    PluginUnavailableError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimitError,
    ProviderTimeoutError,
    WaavError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioFormatError",
    "AuthenticationError",
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
    "__version__",
]

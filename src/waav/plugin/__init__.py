"""waav's capability plugin system: registry, build-time perfect-hash catalog, lifecycle, isolation.

Seven capability kinds (STT, TTS, realtime, audio processor, middleware, WS handler, auth),
registered in a :class:`PluginRegistry` (:func:`global_registry` for the process), found by
name through the build-time perfect hash (:func:`resolve`), driven through an enforced
lifecycle, and called through one isolation wrapper. See the README's "Plugins" section.
"""

from __future__ import annotations

from waav.plugin._catalog import CATALOG_SHA256, CatalogEntry, CredentialSpec, catalog, catalog_entry
from waav.plugin._provider_base import (
    AudioCallback,
    AudioData,
    BaseRealtime,
    BaseSTT,
    BaseTTS,
    ConnectionState,
    STTResult,
    WordTiming,
)
from waav.plugin._provider_config import RealtimeConfig, STTConfig, TTSConfig
from waav.plugin.capabilities import (
    AudioEncoding,
    AudioFormat,
    AudioProcessor,
    AudioProcessorCapability,
    AuthCapability,
    AuthCredentials,
    AuthIdentity,
    AuthStrategy,
    MiddlewareCapability,
    RealtimeCapability,
    STTCapability,
    TTSCapability,
    WSContext,
    WSHandlerCapability,
    WSResponse,
)
from waav.plugin.config import PluginConfig
from waav.plugin.discovery import ENTRY_POINT_GROUP, PluginConstructor
from waav.plugin.dispatch import IMPLEMENTATION, resolve
from waav.plugin.isolation import IsolationPolicy
from waav.plugin.lifecycle import PluginContext, PluginHealth, PluginLifecycle, PluginState
from waav.plugin.metadata import PluginKind, ProviderMetadata
from waav.plugin.pipeline import AudioPipeline
from waav.plugin.registry import PluginInfo, PluginRegistry, global_registry

__all__ = [
    "CATALOG_SHA256",
    "ENTRY_POINT_GROUP",
    "IMPLEMENTATION",
    "AudioCallback",
    "AudioData",
    "AudioEncoding",
    "AudioFormat",
    "AudioPipeline",
    "AudioProcessor",
    "AudioProcessorCapability",
    "AuthCapability",
    "AuthCredentials",
    "AuthIdentity",
    "AuthStrategy",
    "BaseRealtime",
    "BaseSTT",
    "BaseTTS",
    "CatalogEntry",
    "ConnectionState",
    "CredentialSpec",
    "IsolationPolicy",
    "MiddlewareCapability",
    "PluginConfig",
    "PluginConstructor",
    "PluginContext",
    "PluginHealth",
    "PluginInfo",
    "PluginKind",
    "PluginLifecycle",
    "PluginRegistry",
    "PluginState",
    "ProviderMetadata",
    "RealtimeCapability",
    "RealtimeConfig",
    "STTCapability",
    "STTConfig",
    "STTResult",
    "TTSCapability",
    "TTSConfig",
    "WSContext",
    "WSHandlerCapability",
    "WSResponse",
    "WordTiming",
    "catalog",
    "catalog_entry",
    "global_registry",
    "resolve",
]

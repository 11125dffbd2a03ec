"""The base classes and records every provider adapter builds on.

They are defined in :mod:`waav.plugin._provider_base` and :mod:`waav.plugin._provider_config`
because the plugin registry (a lower layer) creates providers and checks their types; this
module is their documented public home for adapter authors::

    from waav.providers.base import BaseSTT, STTConfig, STTResult
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from waav.plugin._provider_base import (
    AudioCallback,
    AudioData,
    BaseRealtime,
    BaseSTT,
    BaseTTS,
    ConnectionState,
    FunctionCallRequest,
    RealtimeAudioData,
    ReconnectionEvent,
    SpeechEvent,
    STTResult,
    STTStats,
    TranscriptResult,
    WordTiming,
)
from waav.plugin._provider_config import (
    EmotionConfig,
    FunctionDefinition,
    Pronunciation,
    RealtimeConfig,
    ReconnectionConfig,
    STTConfig,
    ToolDefinition,
    TranscriptionConfig,
    TTSConfig,
    TurnDetection,
)

__all__ = [
    "AudioCallback",
    "AudioData",
    "BaseRealtime",
    "BaseSTT",
    "BaseTTS",
    "ConnectionState",
    "EmotionConfig",
    "FunctionCallRequest",
    "FunctionDefinition",
    "Pronunciation",
    "RealtimeAudioData",
    "RealtimeConfig",
    "ReconnectionConfig",
    "ReconnectionEvent",
    "STTConfig",
    "STTResult",
    "STTStats",
    "SpeechEvent",
    "SupportsVoices",
    "TTSConfig",
    "ToolDefinition",
    "TranscriptResult",
    "TranscriptionConfig",
    "TurnDetection",
    "Voice",
    "WordTiming",
]


@dataclass(frozen=True)
class Voice:
    """One voice a TTS vendor offers (the upstream ``/voices`` entry shape)."""

    id: str
    name: str = ""
    language: str | None = None
    gender: str | None = None
    accent: str | None = None
    #: URL of a preview clip, when the vendor has one.
    sample: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class SupportsVoices(Protocol):
    """A TTS adapter whose vendor can list its voices (used by the gateway's ``GET /voices``)."""

    async def list_voices(self) -> list[Voice]:
        """The vendor's voices; raise a waav ``ProviderError`` when the vendor call fails."""
        ...

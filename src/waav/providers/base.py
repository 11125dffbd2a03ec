"""The base classes and records every provider adapter builds on.

They are defined in :mod:`waav.plugin._provider_base` and :mod:`waav.plugin._provider_config`
because the plugin registry (a lower layer) creates providers and checks their types; this
module is their documented public home for adapter authors::

    from waav.providers.base import BaseSTT, STTConfig, STTResult
"""

from __future__ import annotations

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
    "TTSConfig",
    "ToolDefinition",
    "TranscriptResult",
    "TranscriptionConfig",
    "TurnDetection",
    "WordTiming",
]

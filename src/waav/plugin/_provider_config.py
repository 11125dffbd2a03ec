"""Typed provider configurations: ``STTConfig``, ``TTSConfig``, ``RealtimeConfig``.

Defaults are the upstream WaaV gateway's (``core/stt/base.rs``, ``core/tts/base.rs``,
``core/realtime/base.rs``). Unknown keys are rejected with a clear error; provider-specific
settings go in ``options`` (validated against the provider's metadata when the registry
creates the provider) and the vendor endpoint can be overridden with ``base_url``.

These records live in the plugin layer because the registry's factories take them (and
the registry merges ``plugins.provider_config`` into them); adapter authors import them
from :mod:`waav.providers.base`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

from waav.plugin._typed import FieldError, config_class

__all__ = [
    "EmotionConfig",
    "FunctionDefinition",
    "Pronunciation",
    "RealtimeConfig",
    "ReconnectionConfig",
    "STTConfig",
    "TTSConfig",
    "ToolDefinition",
    "TranscriptionConfig",
    "TurnDetection",
]


def _positive(owner: Any, *names: str) -> None:
    for name in names:
        v = getattr(owner, name)
        if v is not None and (not math.isfinite(v) or v <= 0):
            raise FieldError((name,), f"must be > 0, got {v!r}", owner=type(owner).__name__)


@config_class
class STTConfig:
    """Speech-to-text session settings (upstream ``STTConfig``)."""

    provider: str = ""
    api_key: str = ""
    language: str = "en-US"
    sample_rate: int = 16000
    channels: int = 1
    punctuation: bool = True
    encoding: str = "linear16"
    model: str = "nova-3"
    #: Vendor endpoint override (tests point adapters at fake servers with it).
    base_url: str | None = None
    #: Provider-specific settings (region, keepalive, …); keys are checked against the
    #: provider's metadata when the registry creates it.
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def _check(self) -> None:
        _positive(self, "sample_rate", "channels")


@config_class
class Pronunciation:
    """Replace ``word`` with ``pronunciation`` before synthesis."""

    word: str
    pronunciation: str


_INTENSITY = {"low": 0.3, "medium": 0.6, "high": 1.0}


@config_class
class EmotionConfig:
    """Emotion controls of the upstream ``tts_config`` (mapped per vendor by the adapters)."""

    emotion: str | None = None
    #: 0.0–1.0, or "low" / "medium" / "high" (= 0.3 / 0.6 / 1.0).
    intensity: float | Literal["low", "medium", "high"] | None = None
    delivery_style: str | None = None
    #: Free text, at most 100 characters.
    description: str | None = None

    def _check(self) -> None:
        value = self.intensity
        if isinstance(value, str):
            value = _INTENSITY[value]
            object.__setattr__(self, "intensity", value)
        if value is not None and not 0.0 <= value <= 1.0:
            raise FieldError(("intensity",), f"must be in [0, 1], got {value!r}", owner="EmotionConfig")
        if self.description is not None and len(self.description) > 100:
            raise FieldError(("description",), "must be at most 100 characters", owner="EmotionConfig")


@config_class
class TTSConfig:
    """Text-to-speech session settings (upstream ``TTSConfig``)."""

    provider: str = ""
    api_key: str = ""
    #: None lets the provider pick its default voice.
    voice_id: str | None = "aura-asteria-en"
    model: str = ""
    speaking_rate: float = 1.0
    audio_format: str = "linear16"
    sample_rate: int = 24000
    #: Seconds.
    connection_timeout: float = 30.0
    #: Seconds.
    request_timeout: float = 60.0
    pronunciations: list[Pronunciation] = dataclasses.field(default_factory=list)
    request_pool_size: int = 4
    emotion_config: EmotionConfig | None = None
    base_url: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def _check(self) -> None:
        _positive(
            self, "speaking_rate", "sample_rate", "connection_timeout", "request_timeout", "request_pool_size"
        )


@config_class
class ReconnectionConfig:
    """Reconnect with exponential backoff (upstream defaults: 5 attempts, 1 s → 30 s, ×2, ±25 %)."""

    enabled: bool = True
    max_attempts: int = 5
    initial_delay_ms: int = 1000
    max_delay_ms: int = 30000
    backoff_multiplier: float = 2.0
    jitter: bool = True

    def _check(self) -> None:
        if self.max_attempts < 0:
            raise FieldError(("max_attempts",), "must be >= 0", owner="ReconnectionConfig")
        _positive(self, "initial_delay_ms", "max_delay_ms")
        if self.backoff_multiplier < 1.0:
            raise FieldError(("backoff_multiplier",), "must be >= 1", owner="ReconnectionConfig")


@config_class
class TurnDetection:
    """Server-side turn detection: ``server_vad`` (threshold/padding/silence), ``semantic_vad``, ``none``."""

    type: Literal["server_vad", "semantic_vad", "none"] = "server_vad"
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None


@config_class
class TranscriptionConfig:
    """Input-audio transcription settings of a realtime session."""

    model: str


@config_class
class FunctionDefinition:
    name: str
    description: str | None = None
    #: JSON Schema of the arguments.
    parameters: dict[str, Any] | None = None


@config_class
class ToolDefinition:
    type: Literal["function"] = "function"
    function: FunctionDefinition


@config_class
class RealtimeConfig:
    """Realtime (speech-to-speech) session settings (upstream ``RealtimeConfig``)."""

    provider: str = ""
    api_key: str = ""
    #: "" lets the provider pick its default model.
    model: str = ""
    voice: str | None = None
    instructions: str | None = None
    temperature: float | None = None
    max_response_output_tokens: int | Literal["inf"] | None = None
    input_audio_format: str | None = None
    output_audio_format: str | None = None
    input_audio_transcription: TranscriptionConfig | None = None
    turn_detection: TurnDetection | None = None
    tools: list[ToolDefinition] = dataclasses.field(default_factory=list)
    tool_choice: str | None = None
    modalities: list[str] | None = None
    reconnection: ReconnectionConfig = dataclasses.field(default_factory=ReconnectionConfig)
    base_url: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

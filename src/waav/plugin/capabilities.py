"""The seven capability kinds a plugin can provide, as abstract base classes.

A *capability* object describes and creates one thing: a provider (``STTCapability``,
``TTSCapability``, ``RealtimeCapability``), an audio processor, an ASGI middleware, a
WebSocket ``custom`` message handler, or an auth strategy. Register one with
``registry.register_capability(obj)`` or return it from an entry point
(``PluginConstructor.capability(obj)``). All seven are wired: the registry creates them,
the isolation wrapper guards every call into them, and the gateway consumes them.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from waav.plugin._provider_base import BaseRealtime, BaseSTT, BaseTTS
from waav.plugin._provider_config import RealtimeConfig, STTConfig, TTSConfig
from waav.plugin.metadata import ProviderMetadata

__all__ = [
    "ASGIApp",
    "AudioEncoding",
    "AudioFormat",
    "AudioProcessor",
    "AudioProcessorCapability",
    "AuthCapability",
    "AuthCredentials",
    "AuthIdentity",
    "AuthStrategy",
    "MiddlewareCapability",
    "RealtimeCapability",
    "STTCapability",
    "TTSCapability",
    "WSContext",
    "WSHandlerCapability",
    "WSResponse",
]

# ASGI (https://asgi.readthedocs.io): no framework import needed to describe it.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --- providers -----------------------------------------------------------------------------


class STTCapability(ABC):
    @property
    @abstractmethod
    def provider_id(self) -> str: ...

    @abstractmethod
    def create_stt(self, config: STTConfig) -> BaseSTT: ...

    @abstractmethod
    def metadata(self) -> ProviderMetadata: ...


class TTSCapability(ABC):
    @property
    @abstractmethod
    def provider_id(self) -> str: ...

    @abstractmethod
    def create_tts(self, config: TTSConfig) -> BaseTTS: ...

    @abstractmethod
    def metadata(self) -> ProviderMetadata: ...


class RealtimeCapability(ABC):
    @property
    @abstractmethod
    def provider_id(self) -> str: ...

    @abstractmethod
    def create_realtime(self, config: RealtimeConfig) -> BaseRealtime: ...

    @abstractmethod
    def metadata(self) -> ProviderMetadata: ...


# --- audio processors ----------------------------------------------------------------------


class AudioEncoding(str, enum.Enum):
    PCM = "pcm"
    MULAW = "mulaw"
    ALAW = "alaw"
    OPUS = "opus"
    MP3 = "mp3"


@dataclass(frozen=True)
class AudioFormat:
    """The format of a chunk flowing through an :class:`~waav.plugin.AudioPipeline`."""

    sample_rate: int = 16000
    channels: int = 1
    bits_per_sample: int = 16
    encoding: AudioEncoding = AudioEncoding.PCM

    @property
    def bytes_per_frame(self) -> int:
        return self.channels * self.bits_per_sample // 8


class AudioProcessor(ABC):
    """Transforms audio chunks. One instance per stream (it may keep state between chunks)."""

    @abstractmethod
    async def process(self, audio: bytes, fmt: AudioFormat) -> bytes:
        """Process one chunk in format ``fmt``; return the processed chunk."""

    def output_format(self, fmt: AudioFormat) -> AudioFormat:
        """Format of the output for input ``fmt`` (a resampler changes the rate)."""
        return fmt

    def changes_duration(self) -> bool:
        return False

    def latency_ms(self) -> float:
        return 0.0

    async def flush(self, fmt: AudioFormat) -> bytes:
        """Return audio held back (e.g. a resampler's filter tail) at end of stream."""
        return b""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget stream state (e.g. at barge-in)."""


class AudioProcessorCapability(ABC):
    @property
    @abstractmethod
    def processor_id(self) -> str: ...

    @abstractmethod
    def create_processor(self, config: Mapping[str, Any]) -> AudioProcessor: ...

    @abstractmethod
    def metadata(self) -> ProviderMetadata: ...

    def supported_formats(self) -> tuple[AudioEncoding, ...]:
        return (AudioEncoding.PCM,)


# --- middleware ----------------------------------------------------------------------------


class MiddlewareCapability(ABC):
    """Creates an ASGI middleware around the gateway app. Lower ``priority`` runs earlier."""

    @property
    @abstractmethod
    def middleware_id(self) -> str: ...

    @property
    def priority(self) -> int:
        return 100

    @abstractmethod
    def create_middleware(self, app: ASGIApp, config: Mapping[str, Any]) -> ASGIApp: ...

    @abstractmethod
    def metadata(self) -> ProviderMetadata: ...


# --- WebSocket custom-message handlers -----------------------------------------------------


@dataclass(frozen=True)
class WSContext:
    """What a handler knows about the session that sent the message."""

    stream_id: str = ""
    authenticated: bool = False
    tenant_id: str | None = None


@dataclass(frozen=True)
class WSResponse:
    """A handler's reply: JSON payload (→ ``plugin_response``), binary frame, or several."""

    kind: str  # "json" | "binary" | "multiple"
    payload: Any = None
    items: tuple[WSResponse, ...] = ()

    @classmethod
    def json(cls, payload: Any) -> WSResponse:
        return cls("json", payload)

    @classmethod
    def binary(cls, data: bytes) -> WSResponse:
        return cls("binary", bytes(data))

    @classmethod
    def multiple(cls, responses: list[WSResponse]) -> WSResponse:
        return cls("multiple", None, tuple(responses))


class WSHandlerCapability(ABC):
    @property
    @abstractmethod
    def message_type(self) -> str: ...

    @abstractmethod
    async def handle(self, message: Any, ctx: WSContext) -> WSResponse | None: ...

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.ws_handler(self.message_type, self.message_type)


# --- auth ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthCredentials:
    credential_type: str  # e.g. "bearer", "api_key"
    value: str


@dataclass(frozen=True)
class AuthIdentity:
    id: str
    tenant_id: str | None = None
    roles: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)


class AuthStrategy(ABC):
    """Authenticates a request. Raise :class:`waav.AuthenticationError` to reject credentials."""

    @abstractmethod
    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity: ...

    @abstractmethod
    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None: ...


class AuthCapability(ABC):
    @property
    @abstractmethod
    def strategy_id(self) -> str: ...

    @abstractmethod
    def create_strategy(self, config: Mapping[str, Any]) -> AuthStrategy: ...

    @abstractmethod
    def metadata(self) -> ProviderMetadata: ...

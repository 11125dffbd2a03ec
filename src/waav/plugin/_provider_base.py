"""The provider contracts: async ``BaseSTT``, ``BaseTTS``, ``BaseRealtime`` and their data types.

Every speech adapter (``waav.providers.*``, or a third-party plugin) implements one of these
small base classes. They are defined in the plugin layer, not in ``waav.providers``, because
the registry's factories are typed to return them and check what they return: imports only
point downwards (``plugin`` → ``providers`` → ``gateway``), so the types the registry needs
must sit at or below it. Adapter authors import them from :mod:`waav.providers.base`, the
documented home that re-exports this module.

Callbacks may be plain functions or coroutine functions; the ``_emit_*`` helpers await
them when needed, in registration order.
"""

from __future__ import annotations

import enum
import inspect
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from waav._exceptions import ProviderError
from waav.plugin._provider_config import RealtimeConfig, STTConfig, TTSConfig

__all__ = [
    "AudioCallback",
    "AudioData",
    "BaseRealtime",
    "BaseSTT",
    "BaseTTS",
    "ConnectionState",
    "FunctionCallRequest",
    "RealtimeAudioData",
    "ReconnectionEvent",
    "STTResult",
    "STTStats",
    "SpeechEvent",
    "TranscriptResult",
    "WordTiming",
]

_log = logging.getLogger("waav.providers")
T = TypeVar("T")
Callback = Callable[[T], "Awaitable[None] | None"]


async def _call_all(callbacks: list[Callable[[T], Any]], value: T) -> None:
    """Call every callback in order; one that raises is logged and does not starve the rest."""
    for cb in list(callbacks):
        try:
            out = cb(value)
            if inspect.isawaitable(out):
                await out
        except Exception:
            _log.exception("provider callback %r failed", cb)


class ConnectionState(str, enum.Enum):
    """Connection state of a provider session (upstream ``ConnectionState``)."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    PROCESSING = "processing"
    RECONNECTING = "reconnecting"
    ERROR = "error"


# --- STT -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WordTiming:
    """One recognised word with its start and end time in seconds from the stream start."""

    word: str
    start: float
    end: float
    confidence: float | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class STTResult:
    """A transcription result. ``confidence`` is clamped to [0, 1] (NaN becomes 0)."""

    transcript: str
    is_final: bool = False
    is_speech_final: bool = False
    confidence: float = 0.0
    #: Word timings when the vendor provides them (the upstream drops them).
    words: tuple[WordTiming, ...] | None = None
    language: str | None = None
    speaker: str | None = None

    def __post_init__(self) -> None:
        c = float(self.confidence)
        object.__setattr__(self, "confidence", 0.0 if math.isnan(c) else min(1.0, max(0.0, c)))
        if self.words is not None and not isinstance(self.words, tuple):
            object.__setattr__(self, "words", tuple(self.words))

    def to_message(self) -> dict[str, Any]:
        """The upstream ``stt_result`` server message (plus ``words`` when known)."""
        msg: dict[str, Any] = {
            "type": "stt_result",
            "transcript": self.transcript,
            "is_final": self.is_final,
            "is_speech_final": self.is_speech_final,
            "confidence": self.confidence,
        }
        if self.words is not None:
            msg["words"] = [
                {"word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence}
                for w in self.words
            ]
        return msg


@dataclass
class STTStats:
    total_audio_bytes: int = 0
    results_count: int = 0
    final_results_count: int = 0
    confidence_sum: float = 0.0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def average_confidence(self) -> float:
        return self.confidence_sum / self.results_count if self.results_count else 0.0

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at


class BaseSTT(ABC):
    """A streaming speech-to-text session: connect, send audio, get results by callback.

    Subclasses implement :meth:`connect`, :meth:`send_audio` and :meth:`disconnect`, set
    :attr:`state`, and deliver results with ``await self._emit_result(result)`` and errors with
    ``await self._emit_error(exc)``. One instance serves one stream.
    """

    #: Canonical provider id (the catalog id for built-ins).
    provider_id: str = ""

    def __init__(self, config: STTConfig) -> None:
        self.config = config
        self.state = ConnectionState.DISCONNECTED
        self.stats = STTStats()
        self._result_callbacks: list[Callable[[STTResult], Any]] = []
        self._error_callbacks: list[Callable[[ProviderError], Any]] = []

    @abstractmethod
    async def connect(self) -> None:
        """Open the vendor stream; return when audio can be sent."""

    @abstractmethod
    async def send_audio(self, audio: bytes) -> None:
        """Send one chunk of audio in the configured format."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Finish the stream (waiting a bounded time for last results) and close it."""

    @property
    def is_connected(self) -> bool:
        return self.state in (ConnectionState.CONNECTED, ConnectionState.PROCESSING)

    def is_ready(self) -> bool:
        return self.is_connected

    def on_result(self, callback: Callback[STTResult]) -> None:
        self._result_callbacks.append(callback)

    def on_error(self, callback: Callback[ProviderError]) -> None:
        self._error_callbacks.append(callback)

    def get_config(self) -> STTConfig:
        return self.config

    async def update_config(self, config: STTConfig) -> None:
        """Apply a new config: reconnect if connected (adapters may do better)."""
        was = self.is_connected
        if was:
            await self.disconnect()
        self.config = config
        if was:
            await self.connect()

    def provider_info(self) -> dict[str, Any]:
        return {"provider": self.provider_id, "kind": "stt", "model": self.config.model}

    async def _emit_result(self, result: STTResult) -> None:
        self.stats.results_count += 1
        self.stats.final_results_count += result.is_final
        self.stats.confidence_sum += result.confidence
        await _call_all(self._result_callbacks, result)

    async def _emit_error(self, error: ProviderError) -> None:
        await _call_all(self._error_callbacks, error)


# --- TTS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioData:
    """A chunk of synthesised audio: ``format`` is e.g. ``linear16``, ``mulaw``, ``mp3``."""

    data: bytes
    sample_rate: int
    format: str = "linear16"
    duration_ms: float | None = None


class AudioCallback(ABC):
    """Receives a TTS session's audio, errors and request completions."""

    @abstractmethod
    async def on_audio(self, audio: AudioData) -> None: ...

    async def on_error(self, error: ProviderError) -> None:  # noqa: B027 - optional hook
        """Called with a provider error; default: ignore."""

    async def on_complete(self) -> None:  # noqa: B027 - optional hook
        """Called after all audio of one ``speak`` was delivered; default: ignore."""


class BaseTTS(ABC):
    """A text-to-speech session: ``speak`` text, audio arrives on the :class:`AudioCallback`.

    Subclasses implement :meth:`speak`, :meth:`clear` and :meth:`flush` (and
    :meth:`connect` / :meth:`disconnect` when the vendor needs a connection) and deliver
    audio through ``await self._emit_audio(...)`` / ``_emit_complete()`` / ``_emit_error``.
    """

    provider_id: str = ""

    def __init__(self, config: TTSConfig) -> None:
        self.config = config
        self.state = ConnectionState.DISCONNECTED
        self._callback: AudioCallback | None = None

    async def connect(self) -> None:
        """Prepare the session (HTTP providers have nothing to open)."""
        self.state = ConnectionState.CONNECTED

    async def disconnect(self) -> None:
        self.state = ConnectionState.DISCONNECTED

    def is_ready(self) -> bool:
        return self.state in (ConnectionState.CONNECTED, ConnectionState.PROCESSING)

    def get_connection_state(self) -> ConnectionState:
        return self.state

    @property
    def streaming_input_enabled(self) -> bool:
        """True when ``speak(piece, flush=False)`` … ``speak(last, flush=True)`` streams the
        pieces to the vendor as one utterance (a streaming-input API). False (the default):
        each ``speak`` is synthesised on its own, so callers should send whole sentences."""
        return False

    @abstractmethod
    async def speak(self, text: str, flush: bool = True) -> None:
        """Queue ``text``; ``flush=True`` starts synthesis of everything queued."""

    @abstractmethod
    async def clear(self) -> None:
        """Drop queued text and cancel audio in flight (barge-in)."""

    @abstractmethod
    async def flush(self) -> None:
        """Synthesise everything queued now."""

    def on_audio(self, callback: AudioCallback) -> None:
        self._callback = callback

    def remove_audio_callback(self) -> None:
        self._callback = None

    def provider_info(self) -> dict[str, Any]:
        return {"provider": self.provider_id, "kind": "tts", "model": self.config.model}

    async def _emit_audio(self, audio: AudioData) -> None:
        if self._callback is not None:
            await self._callback.on_audio(audio)

    async def _emit_complete(self) -> None:
        if self._callback is not None:
            await self._callback.on_complete()

    async def _emit_error(self, error: ProviderError) -> None:
        if self._callback is not None:
            await self._callback.on_error(error)


# --- Realtime ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptResult:
    text: str
    role: str = "user"  # "user" | "assistant"
    is_final: bool = False
    item_id: str | None = None


@dataclass(frozen=True)
class RealtimeAudioData:
    data: bytes
    sample_rate: int = 24000
    item_id: str | None = None
    response_id: str | None = None


@dataclass(frozen=True)
class FunctionCallRequest:
    call_id: str
    name: str
    arguments: str
    item_id: str | None = None


@dataclass(frozen=True)
class SpeechEvent:
    """``kind`` is ``started`` (with ``audio_start_ms``) or ``stopped`` (``audio_end_ms``)."""

    kind: str
    audio_ms: int = 0
    item_id: str | None = None


@dataclass(frozen=True)
class ReconnectionEvent:
    attempt: int
    success: bool
    error: str | None = None


class _Callbacks(Generic[T]):
    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Callable[[T], Any]] = []

    async def emit(self, value: T) -> None:
        await _call_all(self.items, value)


class BaseRealtime(ABC):
    """A full-duplex speech-to-speech session (upstream ``BaseRealtime`` method set)."""

    provider_id: str = ""

    def __init__(self, config: RealtimeConfig) -> None:
        self.config = config
        self.state = ConnectionState.DISCONNECTED
        self._transcript = _Callbacks[TranscriptResult]()
        self._audio = _Callbacks[RealtimeAudioData]()
        self._error = _Callbacks[ProviderError]()
        self._function_call = _Callbacks[FunctionCallRequest]()
        self._speech_event = _Callbacks[SpeechEvent]()
        self._response_done = _Callbacks[str]()
        self._reconnection = _Callbacks[ReconnectionEvent]()

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def disconnect(self) -> None: ...

    def is_ready(self) -> bool:
        return self.state == ConnectionState.CONNECTED

    def get_connection_state(self) -> ConnectionState:
        return self.state

    @abstractmethod
    async def send_audio(self, audio: bytes) -> None: ...

    @abstractmethod
    async def send_text(self, text: str) -> None: ...

    @abstractmethod
    async def create_response(self) -> None: ...

    @abstractmethod
    async def cancel_response(self) -> None: ...

    @abstractmethod
    async def commit_audio_buffer(self) -> None: ...

    @abstractmethod
    async def clear_audio_buffer(self) -> None: ...

    @abstractmethod
    async def update_session(self, config: RealtimeConfig) -> None: ...

    @abstractmethod
    async def submit_function_result(self, call_id: str, result: str) -> None: ...

    def on_transcript(self, cb: Callback[TranscriptResult]) -> None:
        self._transcript.items.append(cb)

    def on_audio(self, cb: Callback[RealtimeAudioData]) -> None:
        self._audio.items.append(cb)

    def on_error(self, cb: Callback[ProviderError]) -> None:
        self._error.items.append(cb)

    def on_function_call(self, cb: Callback[FunctionCallRequest]) -> None:
        self._function_call.items.append(cb)

    def on_speech_event(self, cb: Callback[SpeechEvent]) -> None:
        self._speech_event.items.append(cb)

    def on_response_done(self, cb: Callback[str]) -> None:
        self._response_done.items.append(cb)

    def on_reconnection(self, cb: Callback[ReconnectionEvent]) -> None:
        self._reconnection.items.append(cb)

    def provider_info(self) -> dict[str, Any]:
        return {"provider": self.provider_id, "kind": "realtime", "model": self.config.model}

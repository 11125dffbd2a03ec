"""The upstream plugin guide's tutorial plugins, written as waav plugins (used by the tests)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from waav.plugin import (
    AudioData,
    AudioFormat,
    AudioProcessor,
    AudioProcessorCapability,
    BaseSTT,
    BaseTTS,
    ProviderMetadata,
    STTCapability,
    STTConfig,
    STTResult,
    TTSConfig,
    WordTiming,
    WSContext,
    WSResponse,
)
from waav.plugin.capabilities import AuthCredentials, AuthIdentity, AuthStrategy


class EchoSTT(BaseSTT):
    """Tutorial 1: a custom STT. Each audio chunk yields a result describing it."""

    provider_id = "echo-stt"

    async def connect(self) -> None:
        self.state = self.state.CONNECTED

    async def send_audio(self, audio: bytes) -> None:
        self.stats.total_audio_bytes += len(audio)
        n = self.stats.results_count
        await self._emit_result(
            STTResult(
                f"chunk {n} of {len(audio)} bytes",
                is_final=True,
                is_speech_final=n % 2 == 1,
                confidence=1.5,  # clamped to 1.0
                words=(WordTiming("chunk", 0.0, 0.1),),
                language=self.config.language,
            )
        )

    async def disconnect(self) -> None:
        self.state = self.state.DISCONNECTED


class EchoSTTCapability(STTCapability):
    @property
    def provider_id(self) -> str:
        return "echo-stt"

    def create_stt(self, config: STTConfig) -> BaseSTT:
        return EchoSTT(config)

    def metadata(self) -> ProviderMetadata:
        return (
            ProviderMetadata.stt("echo-stt", "Echo STT")
            .with_description("Tutorial STT that describes the audio it gets")
            .with_aliases(["echo"])
            .with_features(["streaming", "word-timestamps"])
            .with_languages(["en-US"])
            .with_required_config([])
        )


class ClonedVoiceTTS(BaseTTS):
    """Tutorial 2: a TTS with voice cloning: 'speaks' a tone per character."""

    provider_id = "clone-tts"

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self.queue: list[str] = []

    async def speak(self, text: str, flush: bool = True) -> None:
        self.queue.append(text)
        if flush:
            await self.flush()

    async def flush(self) -> None:
        while self.queue:
            text = self.queue.pop(0)
            await self._emit_audio(AudioData(b"\x01\x00" * len(text), self.config.sample_rate))
            await self._emit_complete()

    async def clear(self) -> None:
        self.queue.clear()


def clone_tts_metadata() -> ProviderMetadata:
    return (
        ProviderMetadata.tts("clone-tts", "Clone TTS")
        .with_description("Tutorial TTS with voice cloning")
        .with_features(["streaming", "voice-cloning"])
        .with_models(["clone-1"])
        .with_required_config(["api_key"])
        .with_optional_config(["voice_sample_url"])
    )


class GuideNoiseGate(AudioProcessor):
    """Tutorial 3: the plugin guide's noise gate: zero samples below a linear threshold."""

    def __init__(self, threshold: float = 0.01) -> None:
        self.threshold = threshold

    async def process(self, audio: bytes, fmt: AudioFormat) -> bytes:
        import numpy as np

        x = np.frombuffer(audio, np.int16)
        return (
            np.where(np.abs(x.astype(np.int32)) / 32768.0 < self.threshold, 0, x).astype(np.int16).tobytes()
        )


class GuideNoiseGateCapability(AudioProcessorCapability):
    @property
    def processor_id(self) -> str:
        return "guide-gate"

    def create_processor(self, config: Mapping[str, Any]) -> AudioProcessor:
        return GuideNoiseGate(float(config.get("threshold", 0.01)))

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.processor("guide-gate", "Guide noise gate")


async def ping_handler(payload: Any, ctx: WSContext) -> WSResponse | None:
    """Tutorial 4: the ping/pong WS handler."""
    return WSResponse.json(
        {"pong": True, "echo": payload, "stream_id": ctx.stream_id, "timestamp": time.time()}
    )


class TokenAuth(AuthStrategy):
    def __init__(self, tokens: Mapping[str, str]) -> None:
        self.tokens = dict(tokens)

    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None:
        value = headers.get("authorization", "")
        return AuthCredentials("bearer", value[7:]) if value.startswith("Bearer ") else None

    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
        from waav import AuthenticationError

        who = self.tokens.get(credentials.value)
        if who is None:
            raise AuthenticationError("unknown token")
        return AuthIdentity(who, roles=("user",))

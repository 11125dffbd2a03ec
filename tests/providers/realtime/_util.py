"""Helpers for the realtime adapter tests: an event collector and audio helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np

from waav._exceptions import ProviderError
from waav.providers.base import (
    BaseRealtime,
    FunctionCallRequest,
    RealtimeAudioData,
    ReconnectionEvent,
    SpeechEvent,
    TranscriptResult,
)
from waav.testing.fakes._realtime import tone


class Collector:
    """Everything a realtime session reports, in order."""

    def __init__(self, rt: BaseRealtime) -> None:
        self.events: list[tuple[str, Any]] = []
        self.transcripts: list[TranscriptResult] = []
        self.audio: list[RealtimeAudioData] = []
        self.errors: list[ProviderError] = []
        self.calls: list[FunctionCallRequest] = []
        self.speech: list[SpeechEvent] = []
        self.done: list[str] = []
        self.reconnects: list[ReconnectionEvent] = []
        rt.on_transcript(self._add("transcript", self.transcripts))
        rt.on_audio(self._add("audio", self.audio))
        rt.on_error(self._add("error", self.errors))
        rt.on_function_call(self._add("call", self.calls))
        rt.on_speech_event(self._add("speech", self.speech))
        rt.on_response_done(self._add("done", self.done))
        rt.on_reconnection(self._add("reconnect", self.reconnects))

    def _add(self, kind: str, target: list[Any]) -> Callable[[Any], None]:
        def cb(value: Any) -> None:
            target.append(value)
            self.events.append((kind, value))

        return cb

    def pcm(self, since: int = 0) -> bytes:
        return b"".join(a.data for a in self.audio[since:])

    def finals(self, role: str) -> list[str]:
        return [t.text for t in self.transcripts if t.role == role and t.is_final]


async def until(pred: Callable[[], Any], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "timed out waiting for the condition"
        await asyncio.sleep(0.005)


def utterance(rate: int, freq: float = 300.0, speech_ms: int = 800, silence_ms: int = 1000) -> bytes:
    """PCM16: a tone the fakes' VAD hears as speech, then silence long enough to end the turn."""
    return tone(freq, speech_ms, rate) + bytes(2 * rate * silence_ms // 1000)


async def stream(rt: BaseRealtime, pcm: bytes, rate: int, frame_ms: int = 20, width: int = 2) -> None:
    step = rate * frame_ms // 1000 * width
    for i in range(0, len(pcm), step):
        await rt.send_audio(pcm[i : i + step])


def peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def seconds(pcm: bytes, rate: int, width: int = 2) -> float:
    return len(pcm) / width / rate

"""In-process provider doubles for gateway tests: a recording STT and a tone TTS, with bad twins."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

import numpy as np

from waav.plugin import PluginRegistry
from waav.plugin._provider_base import AudioData, BaseSTT, BaseTTS, ConnectionState, STTResult
from waav.plugin._provider_config import STTConfig, TTSConfig
from waav.providers.base import Voice

TTS_RATE = 24000  # the tone TTS always answers at 24 kHz, whatever the client asked for
TONE_HZ = 440.0
MS_PER_CHAR = 20  # tone duration per character of text


def tone(freq: float, seconds: float, rate: int, amp: float = 0.3) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * math.pi * freq * t) * amp * 32767).astype("<i2").tobytes()


def peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    return float(np.argmax(np.abs(np.fft.rfft(x * np.hanning(len(x))))) * rate / len(x))


class RecordingSTT(BaseSTT):
    """Records what it is sent; one interim + one final result per ``result_bytes`` of audio.

    ``mode``: ``ok``, ``hang`` (send_audio never returns), ``boom`` (send_audio raises),
    ``nosf`` (finals never flagged speech-final).
    """

    def __init__(self, config: STTConfig, mode: str, sink: list[RecordingSTT], result_bytes: int) -> None:
        super().__init__(config)
        self.mode = mode
        self.audio = bytearray()
        self.result_bytes = result_bytes
        self.results = 0
        self.closed = False
        sink.append(self)

    async def connect(self) -> None:
        self.state = ConnectionState.CONNECTED

    async def send_audio(self, audio: bytes) -> None:
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "boom":
            raise RuntimeError("recognizer exploded")
        self.audio += audio
        if len(self.audio) >= (self.results + 1) * self.result_bytes:
            self.results += 1
            await self._emit_result(STTResult(f"utterance {self.results}", confidence=0.5))
            await self._emit_result(
                STTResult(
                    f"utterance {self.results}",
                    is_final=True,
                    is_speech_final=self.mode != "nosf",
                    confidence=0.9,
                )
            )

    async def disconnect(self) -> None:
        self.closed = True
        self.state = ConnectionState.DISCONNECTED


class ToneTTS(BaseTTS):
    """Synthesises a 440 Hz tone, ``MS_PER_CHAR`` ms per character, at 24 kHz, twice as fast
    as real time, in 100 ms chunks. ``mode``: ``ok``, ``hang`` (never answers), ``boom``
    (reports an error), ``raise`` (``speak`` raises)."""

    def __init__(self, config: TTSConfig, mode: str, sink: list[ToneTTS]) -> None:
        super().__init__(config)
        self.mode = mode
        self.spoken: list[str] = []
        self.clears = 0
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        sink.append(self)

    async def connect(self) -> None:
        self.state = ConnectionState.CONNECTED
        self._task = asyncio.create_task(self._work())

    async def disconnect(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.state = ConnectionState.DISCONNECTED

    async def speak(self, text: str, flush: bool = True) -> None:
        if self.mode == "raise":
            raise RuntimeError("synthesizer refused")
        self.spoken.append(text)
        self._queue.put_nowait(text)

    async def _work(self) -> None:
        while True:
            text = await self._queue.get()
            if self.mode == "hang":
                continue
            if self.mode == "boom":
                from waav._exceptions import ProviderError

                await self._emit_error(ProviderError("vendor said no", provider="tone"))
                continue
            pcm = tone(TONE_HZ, len(text) * MS_PER_CHAR / 1000, TTS_RATE)
            step = TTS_RATE // 10 * 2
            for i in range(0, len(pcm), step):
                await self._emit_audio(AudioData(pcm[i : i + step], TTS_RATE))
                await asyncio.sleep(0.05)
            await self._emit_complete()

    async def clear(self) -> None:
        self.clears += 1
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._task is not None:  # cancel the request in flight, keep the worker
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = asyncio.create_task(self._work())

    async def flush(self) -> None:
        pass

    async def list_voices(self) -> list[Voice]:
        return [Voice("tone-a", "Tone A", "en-US", "female")]


class Doubles:
    """A registry (no built-ins' adapters) with the doubles registered, and what they made."""

    def __init__(self, *, result_bytes: int = 16000, builtins: bool = False) -> None:
        self.registry = PluginRegistry()
        if builtins:
            self.registry.discover(third_party=False)
        self.stt: list[RecordingSTT] = []
        self.tts: list[ToneTTS] = []
        for mode in ("ok", "hang", "boom", "nosf"):
            name = "rec" if mode == "ok" else f"rec-{mode}"
            self.registry.register_stt(name, self._stt_factory(mode, result_bytes))
        for mode in ("ok", "hang", "boom", "raise"):
            name = "tone" if mode == "ok" else f"tone-{mode}"
            self.registry.register_tts(name, self._tts_factory(mode))

    def _stt_factory(self, mode: str, result_bytes: int) -> Any:
        return lambda cfg: RecordingSTT(cfg, mode, self.stt, result_bytes)

    def _tts_factory(self, mode: str) -> Any:
        return lambda cfg: ToneTTS(cfg, mode, self.tts)


class OddChunkTTS(ToneTTS):
    """The tone in chunks of odd byte counts (samples split across chunks), at 24 kHz."""

    async def _work(self) -> None:
        while True:
            text = await self._queue.get()
            pcm = tone(TONE_HZ, len(text) * MS_PER_CHAR / 1000, TTS_RATE)
            for i in range(0, len(pcm), 777):
                await self._emit_audio(AudioData(pcm[i : i + 777], TTS_RATE))
            await self._emit_complete()

"""The shared shape of the offline TTS sessions: a FIFO of texts, synthesised sentence by
sentence off the event loop, converted natively to the client's format and rate.

``speak(text)`` queues text; ``flush=True`` (or :meth:`~LocalTTS.flush`) turns everything
queued into one job. A single worker runs jobs in order. A job is split into sentences;
each sentence is synthesised on the engine pool and its audio is sent as soon as it is
ready, converted by :class:`~waav.providers._audio.AudioConverter` (G.711/float and the
native streaming :class:`waav.audio.Resampler`, one stream per job so sentence joins are
seamless), then ``on_complete``. :meth:`~LocalTTS.clear` (barge-in) drops queued text and
cancels the job in flight between sentences.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from typing import Any

import numpy as np

from waav import audio
from waav._exceptions import ProviderError
from waav.providers._audio import AudioConverter, canonical_encoding
from waav.providers.base import AudioData, BaseTTS, ConnectionState, TTSConfig
from waav.providers.local._engine import engine_error, run_blocking
from waav.providers.tts._http import apply_pronunciations

__all__ = ["LocalTTS"]


class LocalTTS(BaseTTS):
    """Base of the offline TTS sessions (see the module docstring).

    Subclasses implement :meth:`load` (blocking; runs on the pool at :meth:`connect`),
    :attr:`native_rate`, :meth:`sentences` and :meth:`synthesize` (blocking: one sentence to
    float32 or int16 samples at :attr:`native_rate`).
    """

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: list[str] = []
        self._worker: asyncio.Task[None] | None = None
        self._current: asyncio.Task[None] | None = None
        #: Seconds from the start of the last job to its first audio chunk.
        self.last_first_audio_s: float | None = None

    # --- what an engine implements ------------------------------------------------------
    @abstractmethod
    def load(self) -> None:
        """Load (or fetch the shared) engine; blocking."""

    @property
    @abstractmethod
    def native_rate(self) -> int:
        """The engine's output sample rate."""

    @abstractmethod
    def sentences(self, text: str) -> list[str]:
        """Split ``text`` into the units synthesised (and streamed) one at a time."""

    @abstractmethod
    def synthesize(self, sentence: str) -> np.ndarray[Any, Any]:
        """One sentence → float32 (in [-1, 1]) or int16 samples at :attr:`native_rate`; blocking."""

    # --- BaseTTS ------------------------------------------------------------------------
    async def connect(self) -> None:
        canonical_encoding(self.config.audio_format)  # refuse unknown formats up front
        AudioConverter("linear16", self.native_rate, self.config.audio_format, self.config.sample_rate)
        self.state = ConnectionState.CONNECTING
        try:
            await run_blocking(self.load)
        except BaseException:
            self.state = ConnectionState.DISCONNECTED
            raise
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name=f"tts-{self.provider_id}")
        self.state = ConnectionState.CONNECTED

    async def disconnect(self) -> None:
        await self.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        self.state = ConnectionState.DISCONNECTED

    async def speak(self, text: str, flush: bool = True) -> None:
        if not self.is_ready():
            raise ProviderError(f"{self.provider_id}: TTS not connected", provider=self.provider_id)
        text = apply_pronunciations(text.strip(), self.config)
        if text:
            self._pending.append(text)
        if flush:
            await self.flush()

    async def flush(self) -> None:
        """Start synthesis of all text queued with ``flush=False``."""
        if self._pending:
            self._queue.put_nowait(" ".join(self._pending))
            self._pending = []

    async def clear(self) -> None:
        """Barge-in: drop queued text and stop the job in flight."""
        self._pending = []
        while not self._queue.empty():
            self._queue.get_nowait()
        current, self._current = self._current, None
        if current is not None and not current.done():
            current.cancel()
            await asyncio.wait({current})

    @property
    def pending(self) -> int:
        """Jobs queued and not started."""
        return self._queue.qsize()

    async def wait_idle(self) -> None:
        """Wait until every queued job has been synthesised (or cleared)."""
        while self._queue.qsize() or (self._current is not None and not self._current.done()):
            await asyncio.sleep(0.005)

    # --- internals ----------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            text = await self._queue.get()
            task = asyncio.create_task(self._job(text))
            self._current = task
            await asyncio.wait({task})  # clear() cancels the job, never the worker
            if self._current is task:
                self._current = None

    async def _job(self, text: str) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        first = True
        out_format = canonical_encoding(self.config.audio_format)
        dst_rate = self.config.sample_rate
        self.state = ConnectionState.PROCESSING
        try:
            converter = AudioConverter("linear16", self.native_rate, out_format, dst_rate)
            for sentence in self.sentences(text):
                samples = await run_blocking(self.synthesize, sentence)
                data = converter.feed(_pcm16(samples))
                if data:
                    if first:
                        self.last_first_audio_s, first = loop.time() - t0, False
                    await self._emit_audio(
                        AudioData(data, dst_rate, out_format, _ms(data, out_format, dst_rate))
                    )
            tail = converter.flush()
            if tail:
                await self._emit_audio(AudioData(tail, dst_rate, out_format, _ms(tail, out_format, dst_rate)))
            await self._emit_complete()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._emit_error(engine_error(exc, self.provider_id))
        finally:
            if self.state is ConnectionState.PROCESSING:
                self.state = ConnectionState.CONNECTED


def _pcm16(samples: np.ndarray[Any, Any]) -> bytes:
    if samples.dtype == np.int16:
        return samples.astype("<i2", copy=False).tobytes()
    return audio.float32_to_int16(np.asarray(samples, dtype=np.float32))


_WIDTH = {"linear16": 2, "float32": 4, "mulaw": 1, "alaw": 1, "wav": 2}


def _ms(data: bytes, encoding: str, rate: int) -> float:
    return len(data) / _WIDTH.get(encoding, 2) / rate * 1000.0

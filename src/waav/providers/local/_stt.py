"""The shared shape of the offline STT sessions: 16 kHz mono in, VAD-cut utterances, a
serial worker that runs the model off the event loop.

:meth:`LocalSTT.send_audio` does only cheap, native work inline (decode G.711/float,
down-mix, resample to 16 kHz, classify 20 ms frames with the :class:`waav.audio.VadSegmenter`)
and queues model work; one worker task per session runs those jobs in order on the engine
pool (:func:`~waav.providers.local._engine.run_blocking`). So a long transcription never
stalls the loop, other sessions keep streaming, and one session's results stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from waav import audio
from waav._exceptions import AudioFormatError, ProviderError
from waav.audio import _vad_py  # the interface of the native VadSegmenter, for typing
from waav.providers._audio import canonical_encoding
from waav.providers.base import BaseSTT, ConnectionState, STTConfig
from waav.providers.local._engine import engine_error, float_option, int_option, run_blocking

__all__ = ["RATE", "InputConverter", "LocalSTT", "clamp_confidence", "segmenter_for", "to_mono16k"]

#: The rate every local recogniser works at.
RATE = 16000
_WIDTH = {"linear16": 2, "float32": 4, "mulaw": 1, "alaw": 1}


class InputConverter:
    """Client audio (encoding, rate, channels) → 16 kHz mono int16, chunk by chunk."""

    def __init__(self, encoding: str, rate: int, channels: int, out_rate: int = RATE) -> None:
        enc = canonical_encoding(encoding)
        if enc not in _WIDTH:
            raise AudioFormatError(
                f"offline STT takes linear16, float32, mulaw or alaw audio, not {encoding!r}"
            )
        if channels < 1:
            raise AudioFormatError(f"channels must be >= 1, got {channels}")
        self.encoding, self.rate, self.channels, self.out_rate = enc, int(rate), int(channels), out_rate
        self._frame = _WIDTH[enc] * self.channels
        self._carry = b""
        self._resampler: Any = (
            audio.Resampler(self.rate, out_rate, dtype="int16") if self.rate != out_rate else None
        )

    def feed(self, chunk: bytes, last: bool = False) -> bytes:
        data = self._carry + bytes(chunk)
        cut = len(data) - len(data) % self._frame
        self._carry, data = data[cut:], data[:cut]
        pcm = self._decode(data)
        if self._resampler is not None:
            out: bytes = self._resampler.process(pcm, last=last)
            return out
        return pcm

    def _decode(self, data: bytes) -> bytes:
        if self.encoding == "float32":
            pcm = audio.float32_to_int16(np.frombuffer(data, "<f4"))
        elif self.encoding == "mulaw":
            pcm = audio.ulaw_decode(data)
        elif self.encoding == "alaw":
            pcm = audio.alaw_decode(data)
        else:
            pcm = data
        if self.channels == 2:
            return audio.stereo_to_mono(pcm)
        if self.channels > 2:
            x = np.frombuffer(pcm, "<i2").reshape(-1, self.channels).astype(np.int32)
            mixed: bytes = (x.sum(axis=1) // self.channels).astype("<i2").tobytes()
            return mixed
        return pcm


def to_mono16k(pcm16: bytes, rate: int, channels: int) -> bytes:
    """A whole int16 buffer → 16 kHz mono int16 (native resampler and down-mix)."""
    return InputConverter("linear16", rate, channels).feed(pcm16, last=True)


def segmenter_for(options: dict[str, Any], provider: str, vad_mode: int = 2) -> _vad_py.VadSegmenter:
    """The VAD that cuts utterances, from the session ``options`` (documented per engine;
    ``vad_mode`` is the engine's default)."""
    max_s = options.get("max_utterance_s", 30.0)
    return audio.VadSegmenter(
        RATE,
        frame_ms=20,
        classifier=str(options.get("vad", "webrtc")),
        mode=int_option(options, provider, "vad_mode", vad_mode, 0, 3),
        pre_roll_ms=float_option(options, provider, "pre_roll_ms", 300.0, 0.0, 2000.0),
        hangover_ms=float_option(options, provider, "hangover_ms", 300.0, 20.0, 5000.0),
        min_speech_ms=float_option(options, provider, "min_speech_ms", 100.0, 20.0, 5000.0),
        max_utterance_s=None
        if max_s is None
        else float_option(options, provider, "max_utterance_s", 30, 1, 600),
    )


class LocalSTT(BaseSTT):
    """Base of the offline STT sessions (see the module docstring).

    Subclasses implement :meth:`load` (blocking: load or fetch the shared engine; runs on the
    pool at :meth:`connect`) and :meth:`on_audio` (called on the loop with each 16 kHz chunk;
    queue model work with :meth:`submit`), and may override :meth:`on_finish`.
    """

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._input: InputConverter | None = None
        self._jobs: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        #: Seconds of 16 kHz audio received so far (stream time of the next sample).
        self.samples_in = 0

    # --- what an engine implements ------------------------------------------------------
    @abstractmethod
    def load(self) -> None:
        """Load the engine (blocking; runs on the engine pool)."""

    @abstractmethod
    def on_audio(self, pcm16k: bytes) -> None:
        """Handle one chunk of 16 kHz mono int16 audio (on the loop; keep it cheap)."""

    def on_finish(self) -> None:
        """End of stream: queue the last model work (the VAD's open utterance)."""

    # --- BaseSTT ------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._worker is not None:  # already connected
            return
        cfg = self.config
        self.state = ConnectionState.CONNECTING
        try:
            self._input = InputConverter(cfg.encoding, cfg.sample_rate, cfg.channels)
            await run_blocking(self.load)
        except BaseException:
            self.state = ConnectionState.DISCONNECTED
            raise
        self.samples_in = 0
        self._jobs = asyncio.Queue()
        self._worker = asyncio.create_task(self._work(), name=f"stt-{self.provider_id}")
        self.state = ConnectionState.CONNECTED

    async def send_audio(self, audio: bytes) -> None:
        if self._input is None or not self.is_connected:
            raise ProviderError(f"{self.provider_id}: STT not connected", provider=self.provider_id)
        self.stats.total_audio_bytes += len(audio)
        pcm = self._input.feed(audio)
        if pcm:
            self.on_audio(pcm)
            self.samples_in += len(pcm) // 2

    async def disconnect(self) -> None:
        """Transcribe what is still open, deliver every result, then stop."""
        if self._worker is None:
            self.state = ConnectionState.DISCONNECTED
            return
        if self._input is not None:
            tail = self._input.feed(b"", last=True)
            if tail:
                self.on_audio(tail)
                self.samples_in += len(tail) // 2
            self.on_finish()
        self._jobs.put_nowait(None)
        worker, self._worker = self._worker, None
        try:
            await worker
        finally:
            if not worker.done():  # cancelled while waiting: stop the worker too
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            self._input = None
            self.state = ConnectionState.DISCONNECTED

    # --- helpers for engines ------------------------------------------------------------
    def submit(self, job: Callable[[], Awaitable[None]]) -> None:
        """Queue ``job`` (a coroutine function) to run after the jobs queued before it."""
        self._jobs.put_nowait(job)

    @property
    def pending_jobs(self) -> int:
        return self._jobs.qsize()

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            if job is None:
                return
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # one utterance the engine could not handle: report it, keep the session
                await self._emit_error(engine_error(exc, self.provider_id))


def clamp_confidence(logprob: float) -> float:
    """A probability from an average log-probability (NaN-safe)."""
    return 0.0 if math.isnan(logprob) else min(1.0, math.exp(min(0.0, logprob)))

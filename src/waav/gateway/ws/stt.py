"""The STT half of a ``/ws`` session: client audio → processors → resampler → provider.

Client audio arrives in the ``stt_config`` format (PCM16, µ-law or A-law; mono or stereo,
any rate). It is decoded to PCM16 mono, run through the session's audio processors (noise
gate, VAD, plugins), resampled natively to the provider's rate and sent to the provider.

A worker task does this so the receive loop never waits on a provider: a slow provider
fills a bounded backlog (frames beyond it are dropped and counted, and the client is told
once), a provider call that hangs longer than ``provider_timeout_seconds`` is reported and
the STT half stops; control messages keep working either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from waav import audio
from waav.gateway._conn import Connection
from waav.gateway._providers import bounded, describe_error
from waav.gateway.metrics import Metrics
from waav.plugin._provider_base import BaseSTT, STTResult
from waav.plugin.pipeline import AudioPipeline

__all__ = ["PCM_INPUTS", "STTInput"]

log = logging.getLogger("waav.gateway")
#: Client encodings the gateway decodes (anything else is forwarded to the provider as is).
PCM_INPUTS = {"linear16": 2, "pcm16": 2, "pcm": 2, "mulaw": 1, "ulaw": 1, "alaw": 1}
#: Frames of client audio that may wait for a slow provider (250 × 20 ms = 5 s).
BACKLOG = 250
#: Seconds after a synthetic speech-final during which a real one is not a new turn end.
DUPLICATE_WINDOW = 0.5


class STTInput:
    """Audio path and result forwarding of one session's STT provider."""

    def __init__(
        self,
        conn: Connection,
        provider: BaseSTT,
        *,
        encoding: str,
        client_rate: int,
        channels: int,
        provider_rate: int,
        pipeline: AudioPipeline | None,
        timeout: float,
        metrics: Metrics,
        speech_final_wait: float = 0.0,
    ) -> None:
        self.conn = conn
        self.provider = provider
        self.provider_id = provider.provider_id or "stt"
        self.encoding = encoding
        self.width = PCM_INPUTS.get(encoding)
        self.channels = channels
        self.pipeline = pipeline
        # Processors with a side channel (the built-in `vad` keeps its events, each holding the
        # utterance's audio, until drained): drain them every frame, or they grow without bound.
        self._drains = [
            proc.drain_events
            for proc in (pipeline.processors if pipeline else [])
            if hasattr(proc, "drain_events")
        ]
        self.timeout = timeout
        self.metrics = metrics
        self._resampler: Any = None
        if self.width is not None and provider_rate != client_rate:
            self._resampler = audio.Resampler(client_rate, provider_rate, dtype="int16")
        self._frame = self.width * channels if self.width else 1
        self._carry = b""
        # a deque and one wake-up future: cheaper per frame than asyncio.Queue's bookkeeping
        self._backlog: deque[bytes] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._dropped_told = False
        self.dropped = 0
        self.failed: str | None = None
        self._busy_since: float | None = None
        self._utterance_t0: float | None = None
        self._sf_wait = speech_final_wait
        self._sf_timer: asyncio.TimerHandle | None = None
        self._synthetic_at = -1e9
        provider.on_result(self._on_result)
        provider.on_error(self._on_error)
        self._task = asyncio.create_task(self._work(), name=f"stt-{self.provider_id}")

    # --- from the receive loop ----------------------------------------------------------
    def feed(self, data: bytes) -> bool:
        """Queue one client frame; returns False when it had to be dropped."""
        if len(self._backlog) < BACKLOG:
            self._backlog.append(data)
            wake = self._wake
            if wake is not None and not wake.done():
                wake.set_result(None)
            return True
        self.dropped += 1
        self.metrics.inc("waav_audio_frames_dropped_total", provider=self.provider_id)
        if not self._dropped_told:
            self._dropped_told = True
            self.conn.send_nowait(
                {
                    "type": "error",
                    "message": f"Failed to process audio: STT provider {self.provider_id} is not "
                    f"keeping up; audio is being dropped",
                }
            )
        return False

    def check_stuck(self) -> bool:
        """Watchdog: True (and the STT half stopped) if a provider call hangs past the timeout."""
        since = self._busy_since
        if since is None or self.failed or time.monotonic() - since < self.timeout:
            return False
        self.failed = f"STT provider {self.provider_id} did not accept audio within {self.timeout:g} s"
        self._task.cancel()
        return True

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    # --- worker ---------------------------------------------------------------------------
    def _decode(self, data: bytes) -> bytes:
        data = self._carry + data if self._carry else data
        cut = len(data) - len(data) % self._frame
        self._carry, data = data[cut:], data[:cut]
        if self.width == 1:
            data = audio.ulaw_decode(data) if self.encoding in ("mulaw", "ulaw") else audio.alaw_decode(data)
        if self.channels == 2:
            data = audio.stereo_to_mono(data)
        return bytes(data)

    async def _work(self) -> None:
        backlog = self._backlog
        send = self.provider.send_audio
        loop = asyncio.get_running_loop()
        while True:
            if not backlog:
                self._wake = loop.create_future()
                await self._wake
                self._wake = None
            data = backlog.popleft()
            try:
                if self.width is not None:
                    data = self._decode(data)
                    if self.pipeline is not None:
                        data = await self.pipeline.process(data)
                        for drain in self._drains:
                            drain()
                    if self._resampler is not None:
                        data = bytes(self._resampler.process(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a processor plugin failed or timed out: this frame only
                await self.conn.error(f"Failed to process audio: {describe_error(exc)}", "audio")
                continue
            if not data:
                continue
            if self._utterance_t0 is None:
                self._utterance_t0 = time.monotonic()
            self._busy_since = time.monotonic()
            try:
                await send(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self.conn.error(f"STT streaming error: {describe_error(exc)}", "stt")
            finally:
                self._busy_since = None

    # --- provider callbacks ---------------------------------------------------------------
    async def _on_result(self, result: STTResult) -> None:
        # the upstream VoiceManager drops empty finals that do not end the turn (§1.8)
        if result.is_final and not result.transcript and not result.is_speech_final:
            return
        t0 = self._utterance_t0
        if t0 is not None and t0 >= 0:
            self.metrics.observe(
                "waav_stt_time_to_first_result_seconds", time.monotonic() - t0, provider=self.provider_id
            )
            self._utterance_t0 = -1.0  # observed; the clock restarts at the audio after a final
        if result.is_final:
            self._utterance_t0 = None
        message = result.to_message()
        if self._sf_wait > 0:
            self._track_turn(result, message)
        await self.conn.send(message)

    def _track_turn(self, result: STTResult, message: dict[str, Any]) -> None:
        """Synthetic speech-final when the provider never ends the turn (upstream §1.8)."""
        if self._sf_timer is not None:
            self._sf_timer.cancel()
            self._sf_timer = None
        loop = asyncio.get_running_loop()
        if result.is_speech_final:
            if loop.time() - self._synthetic_at < DUPLICATE_WINDOW:
                message["is_speech_final"] = False  # the turn was already ended for the client
        elif result.is_final:
            self._sf_timer = loop.call_later(self._sf_wait, self._synthetic_speech_final)

    def _synthetic_speech_final(self) -> None:
        self._sf_timer = None
        self._synthetic_at = asyncio.get_running_loop().time()
        self.conn.send_nowait(STTResult("", is_final=True, is_speech_final=True, confidence=1.0).to_message())

    async def _on_error(self, error: Exception) -> None:
        await self.conn.error(f"STT streaming error: {describe_error(error)}", "stt")

    async def close(self) -> None:
        if self._sf_timer is not None:
            self._sf_timer.cancel()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        try:
            await bounded(self.provider.disconnect(), min(self.timeout, 5.0), "disconnect", self.provider_id)
        except Exception as exc:
            log.warning("STT provider %s did not disconnect cleanly: %s", self.provider_id, exc)

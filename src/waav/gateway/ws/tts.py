"""The TTS half of a ``/ws`` session: speak queue, synthesis, real-time paced audio out.

* **Queue.** ``speak`` items wait in a FIFO; ``flush=true`` drops the items not yet started
  (upstream §1.8); an item that arrives while nothing is being synthesised has started. One
  item is synthesised at a time; the next starts when the provider completed the previous
  one, while its audio is still playing (no gap between sentences).
* **Audio.** Provider audio is converted to ``tts_config.sample_rate`` (streaming resampler)
  and cut into 10–20 ms binary frames sent at real time, a couple of frames ahead of the
  clock, so a ``clear`` (barge-in) silences the client within a frame instead of after a
  burst of seconds. ``tts_playback_complete`` follows the last frame of each item.
* **Clear.** Drops queued items, the buffered audio and the resampler state at once and
  cancels the provider's request, unless the item playing has ``allow_interruption=false``.
* **Timeouts.** A provider that accepts no call, or makes no progress on a request within the
  gateway's ``provider_timeout_seconds``, gets an ``error`` and is cleared; the session lives on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from waav import audio
from waav._exceptions import AudioFormatError, ProviderError
from waav.gateway._conn import Connection
from waav.gateway._providers import bounded, describe_error
from waav.gateway.metrics import Metrics
from waav.plugin._provider_base import AudioCallback, AudioData, BaseTTS
from waav.providers._audio import canonical_encoding

__all__ = ["TTSOutput"]

log = logging.getLogger("waav.gateway")
_BYTES_PER_SAMPLE = {"linear16": 2, "mulaw": 1, "alaw": 1, "float32": 4}
#: Frames sent ahead of the real-time clock (a small jitter buffer for the client).
LEAD_FRAMES = 2


@dataclass(eq=False)
class _Item:
    text: str
    allow_interruption: bool
    queued_at: float = field(default_factory=time.monotonic)
    first_audio: bool = False
    started: bool = False  # the provider was asked; callbacks before that are a stale request's
    cancelled: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    progress: float = field(default_factory=time.monotonic)


class TTSOutput(AudioCallback):
    """Speak queue, provider callbacks and paced playback of one session."""

    def __init__(
        self,
        conn: Connection,
        provider: BaseTTS,
        *,
        audio_format: str,
        sample_rate: int,
        frame_ms: int,
        timeout: float,
        metrics: Metrics,
    ) -> None:
        self.conn = conn
        self.provider = provider
        self.provider_id = provider.provider_id or "tts"
        self.encoding = _encoding(audio_format)
        self.rate = sample_rate
        width = _BYTES_PER_SAMPLE.get(self.encoding)
        #: Bytes per outgoing frame (None: compressed audio, forwarded as it arrives).
        self.frame_bytes = sample_rate * frame_ms // 1000 * width if width else None
        self.frame_s = frame_ms / 1000
        self.timeout = timeout
        self.metrics = metrics
        self._pending: deque[_Item] = deque()
        self._wake_synth = asyncio.Event()
        self._synth: _Item | None = None
        self._playing: _Item | None = None
        self._play: deque[tuple[_Item, bytes | None]] = deque()  # None marks an item's end
        self._wake_play = asyncio.Event()
        self._buf = bytearray()
        self._resampler: Any = None
        self._rs_rate = 0
        self._odd = b""  # a PCM16 sample split across provider chunks (resampler path)
        self._generation = 0
        self._tasks = [
            asyncio.create_task(self._synth_loop(), name="tts-synth"),
            asyncio.create_task(self._play_loop(), name="tts-play"),
        ]
        provider.on_audio(self)

    # --- client requests ------------------------------------------------------------------
    def speak(self, text: str, *, flush: bool, allow_interruption: bool) -> None:
        if flush:
            self._pending.clear()
        item = _Item(text, allow_interruption)
        if self._synth is None and not self._pending:
            # Idle: the item starts now, not when the synth task next runs. Otherwise whether a
            # following ``flush=true`` drops it would depend on scheduling (messages that arrive
            # together are handled before that task gets a turn).
            self._synth = item
        else:
            self._pending.append(item)
        self._wake_synth.set()

    @property
    def busy(self) -> bool:
        return bool(self._pending or self._synth or self._play or self._playing or self._buf)

    def interruptible(self) -> bool:
        current = self._playing or self._synth
        return current is None or current.allow_interruption

    async def clear(self) -> bool:
        """Barge-in; returns False (and does nothing) while non-interruptible audio plays."""
        if not self.interruptible():
            return False
        self._generation += 1
        self._pending.clear()
        self._play.clear()
        self._buf.clear()
        self._odd = b""
        if self._resampler is not None:
            self._resampler.reset()
        for item in (self._synth, self._playing):
            if item is not None:
                item.cancelled = True
                item.done.set()
        self._playing = None
        try:
            await bounded(self.provider.clear(), self.timeout, "clear", self.provider_id)
        except Exception as exc:
            await self.conn.error(f"TTS error: {describe_error(exc)}", "tts")
        return True

    async def drain(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while self.busy and loop.time() < deadline and not self.conn.closed:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.provider.remove_audio_callback()
        try:
            await bounded(self.provider.disconnect(), min(self.timeout, 5.0), "disconnect", self.provider_id)
        except Exception as exc:  # the session is over; nobody to tell
            log.warning("TTS provider %s did not disconnect cleanly: %s", self.provider_id, exc)

    # --- provider callbacks ---------------------------------------------------------------
    async def on_audio(self, data: AudioData) -> None:
        item = self._synth
        if item is None or item.cancelled or not item.started:
            return  # audio of a request that was cleared
        item.progress = time.monotonic()
        if not item.first_audio:
            item.first_audio = True
            self.metrics.observe(
                "waav_tts_time_to_first_audio_seconds",
                item.progress - item.queued_at,
                provider=self.provider_id,
            )
        try:
            chunk = self._convert(data)
        except AudioFormatError as exc:
            await self.on_error(ProviderError(str(exc), provider=self.provider_id))
            return
        if chunk:
            self._play.append((item, chunk))
            self._wake_play.set()

    async def on_complete(self) -> None:
        item = self._synth
        if item is not None and item.started and not item.cancelled:
            self._odd = b""
            if self._resampler is not None:
                tail = bytes(self._resampler.flush())
                self._resampler = None
                if tail:
                    self._play.append((item, tail))
            self._play.append((item, None))
            self._wake_play.set()
            item.done.set()

    async def on_error(self, error: ProviderError) -> None:
        item = self._synth
        if item is not None and item.cancelled:
            return
        await self.conn.error(f"TTS error: {error}", "tts")
        if item is not None and item.started:
            item.cancelled = True
            item.done.set()

    def _convert(self, data: AudioData) -> bytes:
        src = _encoding(data.format)
        chunk = bytes(data.data)
        if src != self.encoding and not (src == "linear16" and self.encoding in ("mulaw", "alaw")):
            raise AudioFormatError(
                f"TTS provider sent {data.format} audio; the session asked for {self.encoding}"
            )
        if src != "linear16" or data.sample_rate == self.rate:
            return chunk if src == self.encoding else _encode(chunk, self.encoding)
        if self._resampler is None or self._rs_rate != data.sample_rate:
            self._resampler = audio.Resampler(data.sample_rate, self.rate, dtype="int16")
            self._rs_rate = data.sample_rate
        if self._odd:
            chunk, self._odd = self._odd + chunk, b""
        if len(chunk) % 2:
            chunk, self._odd = chunk[:-1], chunk[-1:]
        pcm = bytes(self._resampler.process(chunk))
        return pcm if self.encoding == "linear16" else _encode(pcm, self.encoding)

    # --- tasks --------------------------------------------------------------------------
    async def _synth_loop(self) -> None:
        while True:
            while self._synth is None:
                if self._pending:
                    self._synth = self._pending.popleft()
                    break
                self._wake_synth.clear()
                await self._wake_synth.wait()
            item = self._synth
            if item.cancelled:  # cleared before the provider was asked
                self._synth = None
                continue
            item.queued_at = item.progress = time.monotonic()
            item.started = True
            try:
                await bounded(self.provider.speak(item.text, True), self.timeout, "speak", self.provider_id)
            except Exception as exc:
                await self.conn.error(f"Failed to synthesize speech: {describe_error(exc)}", "tts")
                item.done.set()
            # wait for completion, error or clear; a request without progress times out
            while not item.done.is_set():
                left = item.progress + self.timeout - time.monotonic()
                if left <= 0:
                    await self.conn.error(
                        f"TTS error: {self.provider_id} made no progress for {self.timeout:g} s", "tts"
                    )
                    item.cancelled = True
                    with contextlib.suppress(Exception):
                        await bounded(self.provider.clear(), self.timeout, "clear", self.provider_id)
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(item.done.wait(), left)
            if self._synth is item:
                self._synth = None

    async def _play_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = 0.0
        while True:
            while not self._play:
                self._wake_play.clear()
                await self._wake_play.wait()
            item, chunk = self._play.popleft()
            if item.cancelled:
                continue
            self._playing = item
            gen = self._generation
            if chunk is None:  # end of the item: the partial last frame, then the completion
                if self._buf:
                    next_at = await self._pace(next_at, loop)
                    if gen != self._generation:
                        continue
                    await self.conn.send(bytes(self._buf))
                    self._buf.clear()
                await self.conn.send({"type": "tts_playback_complete", "timestamp": int(time.time() * 1000)})
                if self._playing is item:
                    self._playing = None
                continue
            if self.frame_bytes is None:
                await self.conn.send(chunk)
                continue
            self._buf += chunk
            fb = self.frame_bytes
            while len(self._buf) >= fb:
                next_at = await self._pace(next_at, loop)
                if gen != self._generation:
                    break  # cleared while waiting: the buffer is gone
                frame = bytes(self._buf[:fb])
                del self._buf[:fb]
                await self.conn.send(frame)

    async def _pace(self, next_at: float, loop: asyncio.AbstractEventLoop) -> float:
        """Sleep until the next frame is due; return the due time of the frame after it."""
        now = loop.time()
        if next_at < now:  # idle or fell behind: restart the clock, never burst to catch up
            next_at = now
        ahead = next_at - now - LEAD_FRAMES * self.frame_s
        if ahead > 0:
            await asyncio.sleep(ahead)
        return next_at + self.frame_s


def _encoding(name: str) -> str:
    return canonical_encoding(name)


def _encode(pcm: bytes, encoding: str) -> bytes:
    if encoding == "mulaw":
        return bytes(audio.ulaw_encode(pcm))
    if encoding == "alaw":
        return bytes(audio.alaw_encode(pcm))
    return pcm

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
* **Utterances in pieces** (waav extension, ``speak`` with ``continue: true``). Pieces up to
  and including the next ``continue: false`` are one item: one ``tts_playback_complete``;
  ``flush`` and ``allow_interruption`` of the first piece apply. Pieces reach the provider as
  they arrive: a provider with :attr:`~BaseTTS.streaming_input_enabled` gets
  ``speak(piece, flush=False)`` and the last piece with ``flush=True`` (one vendor stream);
  any other gets the text cut at sentence ends, one request per cut, the rest with the last
  piece. ``clear`` cancels the utterance; its later pieces are dropped up to and including
  the one with ``continue: false`` (a piece after a ``tts_continue_timeout_seconds`` silence
  starts a new utterance instead); so are those of an utterance the provider failed. An
  utterance without a new piece for ``tts_continue_timeout_seconds`` is finished with the
  text it has (``error`` sent); later pieces then start a new utterance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
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
#: A sentence end: terminal punctuation (and closing quotes/brackets) followed by whitespace,
#: or a line break. "3." at the end of a piece may be "3.5": only whitespace after it counts.
_SENTENCE_END = re.compile(r"""[.!?;…。！？]+["'”’)\]]*\s+|\n\s*""")
#: Text held without a sentence end beyond this is cut at the last space anyway, so a client
#: that never punctuates still gets audio (and no request exceeds vendors' text limits).
MAX_HELD_CHARS = 400


@dataclass(eq=False)
class _Item:
    text: str  # text not yet handed to the provider
    allow_interruption: bool
    open: bool = False  # more pieces (``continue: true``) may follow
    queued_at: float = field(default_factory=time.monotonic)
    first_audio: bool = False
    started: bool = False  # the provider was asked; callbacks before that are a stale request's
    cancelled: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    progress: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # a piece, completion or end
    last_piece: float = field(default_factory=time.monotonic)
    requests: int = 0  # provider requests that will complete (one per flushed text)
    completed: int = 0
    spoken: bool = False  # non-blank text was handed to the provider
    final_sent: bool = False  # all text handed over: the item ends with its last completion
    pieces: bool = False  # the item came in pieces (``continue``)
    failed: bool = False  # ended by an error or timeout, not by the client


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
        continue_timeout: float = 10.0,
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
        self.continue_timeout = continue_timeout
        self.metrics = metrics
        self._open: _Item | None = None  # the utterance that takes ``continue`` pieces
        self._dropping = False  # pieces of a cleared open utterance are dropped until its end
        self._dropped_at = 0.0  # when the last piece was dropped (or the utterance cleared)
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
    @property
    def utterance_open(self) -> bool:
        """A ``continue`` utterance takes pieces (or a cleared one's pieces are being dropped)."""
        return self._open is not None or self._dropping

    def speak(self, text: str, *, flush: bool, allow_interruption: bool, more: bool = False) -> None:
        now = time.monotonic()
        if self._dropping and now - self._dropped_at > self.continue_timeout:
            self._dropping = False  # the cleared utterance was abandoned: this one is new
        if self._dropping:  # a piece of a cleared utterance
            self._dropping, self._dropped_at = more, now
            return
        current = self._open
        if current is not None:  # the next piece of the open utterance
            current.text += text
            current.last_piece = now
            if not more:
                current.open = False
                self._open = None
            current.changed.set()
            return
        if flush:
            self._pending.clear()
        item = _Item(text, allow_interruption, open=more, pieces=more)
        if more:
            self._open = item
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
        if self._open is not None:
            self._open = None
            self._dropping, self._dropped_at = True, time.monotonic()
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
                item.changed.set()
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
                    self._wake_play.set()
            item.completed += 1
            item.progress = time.monotonic()
            if item.final_sent and item.completed >= item.requests:
                self._finish(item)
            item.changed.set()

    async def on_error(self, error: ProviderError) -> None:
        item = self._synth
        if item is not None and item.cancelled:
            return
        await self.conn.error(f"TTS error: {error}", "tts")
        if item is not None and item.started:
            self._abandon(item)

    def _finish(self, item: _Item) -> None:
        """All of the item's audio is in: queue its end (the completion follows its audio)."""
        self._play.append((item, None))
        self._wake_play.set()
        item.done.set()

    def _abandon(self, item: _Item) -> None:
        """End a failed item; the client's further pieces of it are dropped."""
        item.cancelled = item.failed = True
        if self._open is item:
            self._open = None
            self._dropping, self._dropped_at = True, time.monotonic()
        item.done.set()
        item.changed.set()

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
            await self._run_item(item)
            if self._synth is item:
                self._synth = None

    async def _run_item(self, item: _Item) -> None:
        """Hand the item's text to the provider as it arrives; return when the item ended."""
        incremental = item.pieces and self.provider.streaming_input_enabled
        while not item.done.is_set():
            item.changed.clear()
            try:
                await self._feed(item, incremental)
            except Exception as exc:
                await self.conn.error(f"Failed to synthesize speech: {describe_error(exc)}", "tts")
                self._abandon(item)
                break
            if item.done.is_set():
                break
            # wait for a piece, a completion, an error or a clear; both the client (an open
            # utterance) and the provider (a request without progress) are time-bounded
            now = time.monotonic()
            if item.open:
                left = item.last_piece + self.continue_timeout - now
                if left <= 0:
                    await self.conn.error(
                        f"TTS error: no `continue` piece for {self.continue_timeout:g} s: "
                        "the utterance was finished with the text received",
                        "tts",
                    )
                    item.open = False
                    if self._open is item:
                        self._open = None
                    continue
            else:
                left = self.timeout
            if item.requests > item.completed:
                stalled = item.progress + self.timeout - now
                if stalled <= 0:
                    await self.conn.error(
                        f"TTS error: {self.provider_id} made no progress for {self.timeout:g} s", "tts"
                    )
                    self._abandon(item)
                    with contextlib.suppress(Exception):
                        await bounded(self.provider.clear(), self.timeout, "clear", self.provider_id)
                    return
                left = min(left, stalled)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(item.changed.wait(), left)
        if item.failed and item.pieces:
            # the provider may still hold text of this utterance (an open vendor stream,
            # queued sentences): drop it, or its audio would play as the next item's
            with contextlib.suppress(Exception):
                await bounded(self.provider.clear(), self.timeout, "clear", self.provider_id)

    async def _feed(self, item: _Item, incremental: bool) -> None:
        """Hand over the text that can go now: all of it to a streaming-input provider,
        whole sentences to any other; everything once the last piece arrived."""
        if item.cancelled or item.final_sent:
            return
        final = not item.open
        text = item.text
        if incremental:
            item.text = ""
            if final:
                if item.spoken or text.strip():
                    await self._speak(item, text, True)
                    item.requests = 1
                item.final_sent = True
            elif text:
                await self._speak(item, text, False)
                if text.strip():
                    item.spoken = True
                    item.requests = 1  # the vendor stream completes once, after the flush
        else:
            cut = len(text) if final else _cut(text)
            head, item.text = text[:cut], text[cut:]
            if head.strip():
                await self._speak(item, head, True)
                item.requests += 1
            item.final_sent = final
        if item.final_sent and item.completed >= item.requests:
            if item.requests == 0:  # the pieces were all blank
                await self.conn.error("Text cannot be empty", "protocol")
                item.done.set()
            else:
                self._finish(item)

    async def _speak(self, item: _Item, text: str, flush: bool) -> None:
        if not item.spoken and not item.requests:  # time to first audio counts from here
            item.queued_at = time.monotonic()
        item.progress = time.monotonic()
        await bounded(self.provider.speak(text, flush), self.timeout, "speak", self.provider_id)

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


def _cut(text: str) -> int:
    """Length of the prefix of ``text`` that ends at its last sentence end (0: none yet)."""
    end = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
    if end == 0 and len(text) > MAX_HELD_CHARS:
        end = text.rfind(" ") + 1
    return end


def _encoding(name: str) -> str:
    return canonical_encoding(name)


def _encode(pcm: bytes, encoding: str) -> bytes:
    if encoding == "mulaw":
        return bytes(audio.ulaw_encode(pcm))
    if encoding == "alaw":
        return bytes(audio.alaw_encode(pcm))
    return pcm

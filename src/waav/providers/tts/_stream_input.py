"""TTS vendors with a streaming-input (WebSocket) API as well as a REST one.

A caller that has the whole text calls ``speak(text)`` (``flush=True``): that is one REST
request, exactly as in :class:`~waav.providers.tts._http.StreamingHTTPTTS`. A caller that
produces text incrementally (an LLM emitting tokens) calls ``speak(chunk, flush=False)`` for
each piece and ends with ``speak(last, flush=True)`` or :meth:`flush`: those pieces form one
*utterance*, synthesised through the vendor's streaming-input API so audio starts before
the text is complete and prosody runs across the pieces.

Utterances and REST requests share one FIFO, so audio always comes out in the order it was
asked for. Text of an utterance is forwarded at word boundaries (the unfinished last word
is held back until more text or the flush arrives), so pronunciation replacements still see
whole words. :meth:`clear` drops everything and cancels the utterance in flight.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from waav._exceptions import ProviderError
from waav.providers.base import TTSConfig
from waav.providers.tts._http import StreamingHTTPTTS, _Job, apply_pronunciations

__all__ = ["StreamingInputTTS", "TextStream"]


class TextStream:
    """The text of one utterance as it arrives: iterate it to get word-aligned pieces."""

    def __init__(self, config: TTSConfig) -> None:
        self._config = config
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._pending = ""
        self._parts: list[str] = []
        self.closed = False

    def push(self, text: str) -> None:
        """Add text; complete words are released at once, a trailing partial word waits."""
        if self.closed:
            raise ProviderError("text stream already flushed")
        self._pending += text
        cut = max(self._pending.rfind(" "), self._pending.rfind("\n"), self._pending.rfind("\t"))
        if cut >= 0:
            head, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self._release(head)

    def close(self) -> None:
        """No more text: release what is held back and end the stream."""
        if self.closed:
            return
        self.closed = True
        if self._pending:
            self._release(self._pending)
            self._pending = ""
        self._queue.put_nowait(None)

    @property
    def text(self) -> str:
        """Everything released so far (after pronunciation replacement)."""
        return "".join(self._parts)

    def _release(self, piece: str) -> None:
        piece = apply_pronunciations(piece, self._config)
        if piece:
            self._parts.append(piece)
            self._queue.put_nowait(piece)

    async def next(self, timeout: float | None = None) -> str | None:
        """The next piece, or None at the end; :class:`TimeoutError` if nothing arrives in
        ``timeout`` seconds (the stream is unaffected: call again)."""
        if timeout is None:
            return await self._queue.get()
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            piece = await self._queue.get()
            if piece is None:
                return
            yield piece


@dataclass
class _StreamJob(_Job):
    stream: TextStream = field(default=None)  # type: ignore[assignment]


class StreamingInputTTS(StreamingHTTPTTS):
    """REST for whole texts, the vendor's streaming-input API for incremental text."""

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._open: TextStream | None = None

    @abstractmethod
    def stream_request(self, client: httpx.AsyncClient, text: TextStream) -> AsyncIterator[bytes]:
        """Synthesise an utterance whose text arrives through ``text``; yield audio bytes
        (in :meth:`vendor_format`) as the vendor produces them."""

    @property
    def streaming_input_enabled(self) -> bool:
        """``options["streaming_input"]`` (default true): false sends every piece over REST."""
        return bool(self.config.options.get("streaming_input", True))

    async def speak(self, text: str, flush: bool = True) -> None:
        """``flush=True`` with nothing open: one REST request. ``flush=False``: start or
        continue an utterance; a later ``flush=True`` (or :meth:`flush`) ends it."""
        if not self.streaming_input_enabled or (self._open is None and flush):
            await super().speak(text, flush)
            return
        if not self.is_ready():
            raise ProviderError(f"{self.provider_id}: TTS not connected", provider=self.provider_id)
        if self._open is None:
            if not text.strip():
                return
            self._open = TextStream(self.config)
            self._queue.put_nowait(_StreamJob("", self._generation, self._open))
        self._open.push(text)
        if flush:
            await self.flush()

    async def flush(self) -> None:
        """End the open utterance: its remaining text is synthesised and it completes."""
        stream, self._open = self._open, None
        if stream is not None:
            stream.close()

    async def clear(self) -> None:
        self._open = None
        await super().clear()

    async def _run_job(self, job: _Job) -> None:
        if isinstance(job, _StreamJob):
            assert self._client is not None
            stream = job.stream
            await self._deliver(self.stream_request(self._client, stream), lambda: stream.text)
        else:
            await super()._run_job(job)

"""Base class for HTTP text-to-speech vendors: a FIFO of requests, streamed and cancellable.

Each :meth:`~StreamingHTTPTTS.speak` becomes one vendor request, synthesised strictly in
arrival order by a single worker. Audio is forwarded to the callback as the response body
arrives (never buffered whole), converted to the client's ``audio_format``/``sample_rate``
by :class:`~waav.providers._audio.AudioConverter`; ``on_complete`` follows the last chunk of
each request. :meth:`~StreamingHTTPTTS.clear` (barge-in) drops queued text and cancels the
request in flight at once, closing its HTTP stream. A vendor adapter implements two things:
:meth:`vendor_format` and :meth:`request` (build and send the HTTP request, yield body bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from waav._exceptions import ProviderError
from waav.providers._audio import AudioConverter, canonical_encoding
from waav.providers._common import error_from_exception
from waav.providers.base import AudioData, BaseTTS, ConnectionState, TTSConfig

__all__ = ["StreamingHTTPTTS", "apply_pronunciations"]


def apply_pronunciations(text: str, config: TTSConfig) -> str:
    """Replace each configured word (whole words, case-sensitive) by its pronunciation."""
    for p in config.pronunciations:
        text = re.sub(rf"\b{re.escape(p.word)}\b", p.pronunciation.replace("\\", "\\\\"), text)
    return text


@dataclass
class _Job:
    text: str
    generation: int


class StreamingHTTPTTS(BaseTTS):
    """FIFO, streaming, cancellable HTTP TTS session (see the module docstring)."""

    #: Catalog kind, for credential error messages.
    kind = "tts"

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._client: httpx.AsyncClient | None = None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._current: asyncio.Task[None] | None = None
        self._generation = 0
        #: The text of the previous request (vendors that take context use it).
        self.previous_text: str | None = None

    # --- what a vendor adapter implements ------------------------------------------------
    @abstractmethod
    def vendor_format(self) -> tuple[str, int]:
        """(encoding, sample_rate) the vendor will return for the current config."""

    @abstractmethod
    def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        """Send the vendor request for ``text``; yield response body chunks as they arrive.

        Raise the mapped waav error for a failed response
        (:func:`waav.providers._common.raise_for_response`).
        """

    def check_config(self) -> None:
        """Validate the config and credentials at :meth:`connect` (raise a waav error)."""

    # --- BaseTTS --------------------------------------------------------------------------
    async def connect(self) -> None:
        self.check_config()
        canonical_encoding(self.config.audio_format)  # refuse unknown formats up front
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.request_timeout, connect=self.config.connection_timeout),
                limits=httpx.Limits(max_connections=self.config.request_pool_size),
            )
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
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self.state = ConnectionState.DISCONNECTED

    async def speak(self, text: str, flush: bool = True) -> None:
        """Queue ``text`` as one request (FIFO). HTTP vendors synthesise each request whole,
        so ``flush`` has no further effect here."""
        if not self.is_ready():
            raise ProviderError(f"{self.provider_id}: TTS not connected", provider=self.provider_id)
        text = apply_pronunciations(text.strip(), self.config)
        if text:
            self._queue.put_nowait(_Job(text, self._generation))

    async def flush(self) -> None:
        """Nothing is held back: every ``speak`` is already its own request."""

    async def clear(self) -> None:
        """Barge-in: drop queued text and cancel the request in flight."""
        self._generation += 1
        while not self._queue.empty():
            self._queue.get_nowait()
        current, self._current = self._current, None
        if current is not None and not current.done():
            current.cancel()
            # asyncio.wait, not `await current`: a cancellation of clear() itself must
            # propagate, and must not be confused with the request's own cancellation.
            await asyncio.wait({current})
        self.previous_text = None

    @property
    def pending(self) -> int:
        """Requests queued and not started."""
        return self._queue.qsize()

    # --- internals ------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job.generation != self._generation:
                continue
            task = asyncio.create_task(self._run_job(job))
            self._current = task
            # clear() may cancel `task`; that must not end the worker, while cancelling the
            # worker itself (disconnect) must: asyncio.wait keeps the two apart.
            await asyncio.wait({task})
            if self._current is task:
                self._current = None

    async def _run_job(self, job: _Job) -> None:
        """Synthesise one queued job (subclasses with other job kinds extend this)."""
        await self._synthesize(job.text)

    async def _synthesize(self, text: str) -> None:
        assert self._client is not None
        await self._deliver(self.request(self._client, text), text)

    async def _deliver(self, chunks: AsyncIterator[bytes], text: str | Callable[[], str]) -> None:
        """Forward one response's audio ``chunks`` to the callback, converted, then complete.

        ``text`` (or a function returning it, for text that arrives while audio streams)
        becomes :attr:`previous_text` on success. Vendor errors and transport failures
        become one ``on_error``; the session survives.
        """
        encoding, rate = self.vendor_format()
        dst_rate = self.config.sample_rate
        out_format = canonical_encoding(self.config.audio_format)
        self.state = ConnectionState.PROCESSING
        try:
            converter = AudioConverter(encoding, rate, out_format, dst_rate)
            async for chunk in chunks:
                data = converter.feed(chunk)
                if data:
                    await self._emit_audio(AudioData(data, dst_rate, out_format))
            tail = converter.flush()
            if tail:
                await self._emit_audio(AudioData(tail, dst_rate, out_format))
            self.previous_text = text() if callable(text) else text
            await self._emit_complete()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._emit_error(error_from_exception(exc, self.provider_id))
        finally:
            # Close the vendor stream now (also when cancelled while the callback ran), so a
            # barge-in aborts the HTTP response at once instead of whenever it is collected.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            if self.state is ConnectionState.PROCESSING:
                self.state = ConnectionState.CONNECTED

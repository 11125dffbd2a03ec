"""Base class for streaming WebSocket speech-to-text vendors.

Six vendors (Deepgram, AssemblyAI, ElevenLabs, Cartesia, Azure, IBM Watson) stream audio up a
WebSocket and get transcripts back on it. What differs is vendor detail (URL, auth, framing,
message shapes, how to keep an idle socket open, how to finish); what is shared lives here
(the options, the audio backlog and the reconnect loop are shared with the gRPC base, in
:mod:`waav.providers.stt._stream`):

**Connecting.** :meth:`~StreamingWebSocketSTT.connect` makes one attempt (fail fast: a bad key,
a 429 or an unreachable host raise the mapped waav error at once), bounded by
``options["connect_timeout"]`` (10 s). The vendor's :meth:`prepare` runs first on every attempt
(IBM exchanges its API key for an IAM token there). A vendor that announces its session
(AssemblyAI ``Begin``, ElevenLabs ``session_started``, IBM ``{"state": "listening"}``) counts
as connected only once that message arrived, so an in-band auth failure also raises here.

**No audio before the socket is open.** Audio given to :meth:`send_audio` while connecting or
reconnecting is kept in a FIFO buffer and flushed, in order, once the (new) socket is ready.
The buffer is bounded by ``options["max_buffer_seconds"]`` (default 10 s of audio at the
configured rate/encoding). **Overflow policy:** the *oldest* buffered audio is dropped (a live
stream should stay current), :attr:`dropped_audio_bytes` counts it, and one
:class:`~waav.ProviderError` saying so is reported through ``on_error`` per outage.

**Results.** The vendor's :meth:`handle_message` parses each frame and calls
:meth:`_emit_result` with an :class:`~waav.providers.base.STTResult` (interim vs final vs
speech-final, confidence, word timings, language, speaker when the vendor sends them). A
vendor error message is reported with :meth:`_vendor_error` (delivered to ``on_error`` at once;
it also decides whether a following close is retried).

**Keepalive.** When the vendor closes idle streams, :meth:`keepalive_frame` is sent after
``options["keepalive_interval"]`` seconds without any audio (vendor default; 0 disables).

**Reconnect.** After a connection was established, a dropped socket is reopened with
exponential backoff and ±25 % jitter (``options["reconnect"]``: ``False``, ``True`` or a
:class:`~waav.providers.base.ReconnectionConfig` mapping; upstream defaults). Audio keeps
buffering meanwhile and is flushed to the new socket. Expected closes — the vendor's idle
timeout or session cap (:meth:`is_expected_close`) — reconnect at once *without* spending the
retry budget; a connection that became ready resets the budget. Authentication and protocol
errors are never retried. When the budget is spent the error goes to ``on_error`` and the
state becomes ``ERROR``; later :meth:`send_audio` calls raise it.

**Finishing.** :meth:`disconnect` flushes buffered audio, sends the vendor's finish message(s)
(:meth:`finish_frames`: Deepgram ``CloseStream``, AssemblyAI ``Terminate``, …), keeps reading
results until the vendor says it is done (:meth:`_set_finished`) or closes the socket, but
never longer than ``options["finish_timeout"]`` (3 s): a vendor that never answers cannot hang
a session. Then the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import abstractmethod
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from waav._exceptions import (
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimitError,
    ProviderTimeoutError,
)
from waav.providers._common import backoff_delays, error_from_exception
from waav.providers._stream import AudioBacklog, http_url, join_path, keep_tail, ws_url
from waav.providers.base import ConnectionState, STTConfig, WordTiming
from waav.providers.stt._stream import ReconnectingSTT

__all__ = ["Frame", "StreamingWebSocketSTT", "http_url", "join_path", "words_from", "ws_url"]

log = logging.getLogger("waav.providers.stt")

#: One WebSocket message: text (JSON and other control messages) or binary (audio).
Frame = str | bytes


def words_from(items: Any, convert: Any) -> tuple[WordTiming, ...] | None:
    """Build word timings from a vendor list with ``convert(item) -> WordTiming | None``."""
    if not isinstance(items, list) or not items:
        return None
    out = [w for w in (convert(i) for i in items) if w is not None]
    return tuple(out) if out else None


class StreamingWebSocketSTT(ReconnectingSTT):
    """A streaming STT session over one vendor WebSocket (see the module docstring)."""

    #: True when the vendor announces its session and audio must wait for that message.
    wait_for_ready = False

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config, AudioBacklog(len, keep_tail))
        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._finished = asyncio.Event()
        self._vendor_err: ProviderError | None = None
        #: Audio frames sent on the current connection (vendors that prefix the first one).
        self.frames_sent = 0
        self._reader: asyncio.Task[None] | None = None
        self._coalesce = bytearray()
        self._wake = asyncio.Event()
        self._idle_streak = 0

    # ------------------------------------------------------------------------------------
    # what a vendor adapter implements
    # ------------------------------------------------------------------------------------
    def check_config(self) -> None:
        """Validate config and credentials (raise a waav error naming the missing env var)."""

    async def prepare(self) -> None:
        """Run before every connection attempt (e.g. fetch a short-lived token)."""

    @abstractmethod
    def url(self) -> str:
        """The full ``ws(s)://`` URL to open, query string included."""

    def headers(self) -> dict[str, str]:
        """Handshake headers (auth)."""
        return {}

    async def on_open(self, ws: ClientConnection) -> None:
        """Send what the vendor expects right after the handshake (start/config messages)."""

    def audio_frame(self, chunk: bytes) -> Frame:
        """Wrap one audio chunk in the vendor's framing (default: a raw binary message)."""
        return chunk

    def keepalive_frame(self) -> Frame | None:
        """The vendor's keepalive message, or None when it has none."""
        return None

    def finish_frames(self) -> list[Frame]:
        """Message(s) that end the stream gracefully (the vendor then sends its last results)."""
        return []

    def finalize_frames(self) -> list[Frame]:
        """Message(s) that flush pending audio into final results without ending the stream."""
        return []

    @abstractmethod
    async def handle_message(self, message: Frame) -> None:
        """Handle one vendor message: emit results, mark ready/finished, report errors."""

    def close_error(self, code: int | None, reason: str) -> ProviderError | None:
        """The error a vendor close frame means (None: a normal close)."""
        if code in (None, 1000, 1001):
            return None
        if code == 1008:
            return ProviderError(f"{self.provider_id}: closed {code}: {reason}", provider=self.provider_id)
        return ProviderConnectionError(
            f"{self.provider_id}: connection closed {code}: {reason}".rstrip(": "), provider=self.provider_id
        )

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        """True for closes that are routine (idle timeout, session cap): reconnect for free."""
        return False

    # ------------------------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------------------------
    @property
    def min_frame_bytes(self) -> int:
        """Smallest audio message the vendor accepts (0: any); smaller frames are coalesced."""
        return 0

    @property
    def max_frame_bytes(self) -> int:
        """Largest audio message the vendor accepts (0: any); larger chunks are split."""
        return 0

    # ------------------------------------------------------------------------------------
    # BaseSTT
    # ------------------------------------------------------------------------------------
    async def connect(self) -> None:
        if self.state in (ConnectionState.CONNECTED, ConnectionState.PROCESSING):
            return
        self.check_config()
        _ = self.reconnection, self.keepalive_interval  # bad options fail here, not later
        self._closing = False
        self._fatal = self._vendor_err = None
        self._finished.clear()
        self.state = ConnectionState.CONNECTING
        try:
            ws = await self._open()
        except ProviderError:
            self.state = ConnectionState.ERROR
            raise
        except BaseException:
            self.state = ConnectionState.DISCONNECTED
            raise
        self._supervisor = asyncio.create_task(self._supervise(ws), name=f"stt-{self.provider_id}")

    async def send_audio(self, audio: bytes) -> None:
        self._check_usable()
        if not audio:
            return
        self.stats.total_audio_bytes += len(audio)
        least = self.min_frame_bytes
        if least:
            # vendors with a minimum message duration: coalesce small frames
            self._coalesce += audio
            if len(self._coalesce) < least:
                return
            data = bytes(self._coalesce)
            self._coalesce.clear()
        else:
            data = bytes(audio)
        for chunk in self._split(data):
            await self._send_chunk(chunk)

    def _split(self, data: bytes) -> list[bytes]:
        most = self.max_frame_bytes
        if not most or len(data) <= most:
            return [data]
        return [data[i : i + most] for i in range(0, len(data), most)]

    async def _send_chunk(self, data: bytes) -> None:
        ws = self._ws
        if ws is not None and self._ready.is_set() and not self._backlog and not self._send_lock.locked():
            try:
                async with self._send_lock:
                    await ws.send(self.audio_frame(data))
                    self.frames_sent += 1
                    self._last_send = time.monotonic()
                return
            except ConnectionClosed:
                self._buffer_audio(data, front=True)  # not sent: first in line for the next connection
                self._wake.set()
                return
        self._buffer_audio(data)
        self._wake.set()
        if ws is not None and self._ready.is_set():
            await self._flush(ws)

    async def _drain_coalesced(self) -> None:
        """Queue audio held back by ``min_frame_bytes`` (padded with silence to the minimum)."""
        if self._coalesce:
            data = self.pad_frame(bytes(self._coalesce))
            self._coalesce.clear()
            for chunk in self._split(data):
                self._buffer_audio(chunk)

    def pad_frame(self, chunk: bytes) -> bytes:
        """Pad a last, too-short chunk for vendors with a minimum message duration."""
        return chunk

    async def disconnect(self) -> None:
        """Finish gracefully: flush, send the vendor's finish message, wait (bounded) for the
        last results, close."""
        if self._supervisor is None and self._ws is None:
            self.state = ConnectionState.DISCONNECTED
            return
        self._closing = True
        ws = self._ws
        if ws is not None and self._ready.is_set():
            try:
                await self._drain_coalesced()
                await self._flush(ws)
                frames = self.finish_frames()
                if frames:
                    async with self._send_lock:
                        for frame in frames:
                            await ws.send(frame)
                    waiter = asyncio.ensure_future(self._finished.wait())
                    closed = asyncio.ensure_future(ws.wait_closed())
                    try:
                        await asyncio.wait(
                            {waiter, closed}, timeout=self.finish_timeout, return_when="FIRST_COMPLETED"
                        )
                    finally:
                        waiter.cancel()
                        closed.cancel()
            except ConnectionClosed:
                pass
        await self._shutdown()

    async def finalize(self) -> None:
        """Ask the vendor to turn pending audio into final results now (stream stays open).

        Vendors without such a message ignore this. Some answer nothing when nothing was
        pending (Deepgram ``Finalize``), so never wait for a reply to it.
        """
        ws = self._ws
        frames = self.finalize_frames()
        if ws is None or not frames or not self._ready.is_set():
            return
        await self._drain_coalesced()
        await self._flush(ws)
        with contextlib.suppress(ConnectionClosed):
            async with self._send_lock:
                for frame in frames:
                    await ws.send(frame)
                self._last_send = time.monotonic()

    # ------------------------------------------------------------------------------------
    # helpers for adapters
    # ------------------------------------------------------------------------------------
    def _set_ready(self) -> None:
        """The vendor session is ready for audio (its "session started" message arrived)."""
        self._ready.set()

    def _set_finished(self) -> None:
        """The vendor sent its last message for a graceful finish."""
        self._finished.set()

    async def _vendor_error(self, error: ProviderError) -> None:
        """Report a vendor error message (fatal or not: a following close decides)."""
        self._vendor_err = error
        if self._ready.is_set():
            await self._report(error)

    def _error(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> ProviderError:
        """A waav error for a vendor error message, typed by an HTTP-like status when known."""
        msg = f"{self.provider_id}: {message}"
        pid = self.provider_id
        if status in (401, 403):
            return ProviderAuthError(msg, provider=pid)
        if status == 429:
            return ProviderRateLimitError(msg, provider=pid, retry_after=retry_after)
        if status in (408, 504):
            return ProviderTimeoutError(msg, provider=pid)
        if status == 400:
            return ProviderProtocolError(msg, provider=pid)
        return ProviderError(msg, provider=pid)

    # ------------------------------------------------------------------------------------
    # internals
    # ------------------------------------------------------------------------------------
    async def _flush(self, ws: ClientConnection) -> None:
        """Send buffered audio in order; on a closed socket keep the rest for the next one."""

        async def send(chunk: bytes) -> None:
            await ws.send(self.audio_frame(chunk))
            self.frames_sent += 1
            self._last_send = time.monotonic()

        async with self._send_lock:
            try:
                await self._backlog.drain(send)
            except ConnectionClosed:
                return
            self._backlog.rearm()

    async def _open(self) -> ClientConnection:
        """One connection attempt, bounded by ``connect_timeout``; raises the mapped error."""
        try:
            ws = await asyncio.wait_for(self._attempt(), self.connect_timeout)
        except asyncio.TimeoutError:
            raise ProviderTimeoutError(
                f"{self.provider_id}: no session within {self.connect_timeout:g} s",
                provider=self.provider_id,
            ) from None
        self.connections += 1
        self._last_send = time.monotonic()
        self.state = ConnectionState.CONNECTED
        await self._flush(ws)
        return ws

    async def _attempt(self) -> ClientConnection:
        """Handshake, vendor start, wait until ready; clean up on any failure."""
        self._ready.clear()
        self._finished.clear()
        self._vendor_err = None
        ws: ClientConnection | None = None
        reader: asyncio.Task[None] | None = None
        try:
            await self.prepare()
            ws = await connect(
                ws_url(self.url()),
                additional_headers=self.headers(),
                open_timeout=None,
                ping_interval=None,
                close_timeout=1.0,
                max_size=None,
            )
            self.frames_sent = 0
            self._ws = ws
            await self.on_open(ws)
            if self.wait_for_ready:
                reader = asyncio.create_task(self._read(ws))
                ready = asyncio.ensure_future(self._ready.wait())
                try:
                    await asyncio.wait({reader, ready}, return_when="FIRST_COMPLETED")
                finally:
                    ready.cancel()
                if not self._ready.is_set():
                    await reader
                    raise self._closed_error(ws)
            else:
                self._ready.set()
        except InvalidStatus as exc:
            await self._abandon(ws, reader)
            raise error_from_exception(exc, self.provider_id) from None
        except (OSError, EOFError, WebSocketException) as exc:
            await self._abandon(ws, reader)
            raise ProviderConnectionError(
                f"{self.provider_id}: cannot connect: {type(exc).__name__}: {exc}",
                provider=self.provider_id,
            ) from None
        except BaseException:
            await self._abandon(ws, reader)
            raise
        self._reader = reader
        return ws

    async def _abandon(self, ws: ClientConnection | None, reader: asyncio.Task[None] | None) -> None:
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._ws is ws:
            self._ws = None
        self._ready.clear()

    def _closed_error(self, ws: ClientConnection) -> ProviderError:
        if self._vendor_err is not None:
            return self._vendor_err
        code, reason = ws.close_code, ws.close_reason or ""
        err = self.close_error(code, reason)
        return err or ProviderConnectionError(
            f"{self.provider_id}: connection closed ({code} {reason})".rstrip(), provider=self.provider_id
        )

    async def _read(self, ws: ClientConnection) -> None:
        """Receive loop of one connection: returns when the socket is closed."""
        try:
            async for message in ws:
                try:
                    await self.handle_message(message)
                except ProviderError as exc:
                    await self._vendor_error(exc)
                except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
                    text = message if isinstance(message, str) else f"<{len(message)} bytes>"
                    await self._vendor_error(
                        ProviderProtocolError(
                            f"{self.provider_id}: cannot parse vendor message ({exc!r}): {text[:200]}",
                            provider=self.provider_id,
                        )
                    )
                except Exception:  # a failing result callback must not end the stream
                    log.exception("%s: error while handling a vendor message", self.provider_id)
        except ConnectionClosed:
            pass

    async def _keepalive(self, ws: ClientConnection) -> None:
        async def send() -> bool:
            frame = self.keepalive_frame()
            if frame is None:
                return False
            try:
                async with self._send_lock:
                    await ws.send(frame)
            except ConnectionClosed:
                return False
            return True

        await self._keep_alive(send)

    async def _supervise(self, ws: ClientConnection) -> None:
        """Run connections one after another until disconnect or a fatal error."""
        delays = backoff_delays(self.reconnection)
        while True:
            outcome = await self._serve(ws)
            if self._closing:
                return
            delay: float | None = 0.0
            if outcome is None:  # routine close (idle timeout, session cap): reopen, budget untouched
                self._idle_streak = self._idle_streak + 1 if self.frames_sent == 0 else 1
                self.state = ConnectionState.RECONNECTING
                if self._idle_streak > 3:
                    # The caller has been silent through several vendor idle timeouts: stop
                    # churning sockets and reconnect when audio arrives (it is buffered).
                    self._wake.clear()
                    if not self._backlog:
                        await self._wake.wait()
                log.info("%s: routine close, reconnecting", self.provider_id)
            else:
                self._idle_streak = 0
                delay = await self._delay_after_loss(outcome, delays)
            opened = None if delay is None else await self._reopen(self._open, delay, delays)
            if opened is None:  # closing, or gave up
                return
            ws = opened
            delays = backoff_delays(self.reconnection)  # a good connection resets the budget

    async def _serve(self, ws: ClientConnection) -> ProviderError | None:
        """Serve one open connection; return None for a normal/expected end, else the error."""
        reader = self._reader or asyncio.create_task(self._read(ws))
        self._reader = reader
        keeper = asyncio.create_task(self._keepalive(ws))
        try:
            await reader
        finally:
            keeper.cancel()
            with contextlib.suppress(BaseException):
                await keeper
        self._ws = None
        self._ready.clear()
        self._finished.set()
        if self._closing:
            return None
        code, reason = ws.close_code, ws.close_reason or ""
        if self.is_expected_close(code, reason):
            return None
        err = self._vendor_err or self.close_error(code, reason)
        if err is None:  # a clean close the client did not ask for: the stream still ended
            err = ProviderConnectionError(
                f"{self.provider_id}: vendor closed the stream ({code} {reason})".rstrip(),
                provider=self.provider_id,
            )
        return err

    async def _shutdown(self) -> None:
        self._closing = True
        sup, self._supervisor = self._supervisor, None
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if sup is not None and not sup.done():
            sup.cancel()
            with contextlib.suppress(BaseException):
                await sup
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        self._ready.clear()
        self._coalesce.clear()
        self._ended()

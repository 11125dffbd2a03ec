"""Base class for speech-to-text vendors that stream over one bidirectional gRPC call.

Google (Speech-to-Text v2 ``StreamingRecognize``) and Gnani (``Listener/DoSpeechToText``)
stream requests up a gRPC call and read responses from it. ``grpcio`` is an optional
dependency (extras ``waav[google]``, ``waav[gnani]``); a missing one is a
:class:`~waav.ConfigError` naming the extra.
Options, the audio backlog and the reconnect loop are shared with the WebSocket base
(:mod:`waav.providers.stt._stream`).

**Connecting.** :meth:`connect` opens the channel (TLS, or plaintext for an ``http://``
``base_url`` such as a local fake), waits until it is ready, starts the call with the
vendor's metadata (auth) and first request(s), and then waits briefly
(``options["ready_wait"]``, 0.5 s) for the server's response headers or status, so that a
refused key (``UNAUTHENTICATED``) or quota error fails :meth:`connect` itself (servers that
send headers only with the first result cost at most that wait).

**Audio** is queued for the call's request stream (chunks above the vendor's
``max_frame_bytes`` are split). While (re)connecting it waits in a FIFO bounded by
``options["max_buffer_seconds"]`` (10 s): on overflow the oldest audio is dropped, counted in
:attr:`dropped_audio_bytes` and reported once through ``on_error``.

**Errors** are mapped from gRPC status codes: ``UNAUTHENTICATED``/``PERMISSION_DENIED`` →
:class:`~waav.ProviderAuthError`, ``RESOURCE_EXHAUSTED`` → :class:`~waav.ProviderRateLimitError`
(``retry-after`` trailing metadata honoured), ``INVALID_ARGUMENT``/``FAILED_PRECONDITION``/
``OUT_OF_RANGE`` → :class:`~waav.ProviderProtocolError`, ``DEADLINE_EXCEEDED`` →
:class:`~waav.ProviderTimeoutError`, ``UNAVAILABLE`` and other transport failures →
:class:`~waav.ProviderConnectionError`.

**Reconnect.** A call that ends with a retryable error (connection, timeout, rate limit) is
reopened with the session's backoff (``options["reconnect"]``); a routine end the vendor
defines (:meth:`is_expected_end`, e.g. Google's stream-duration cap) is reopened at once
without spending the retry budget. Audio queued but not yet taken by the failed call moves to
the new one. Auth and protocol errors are not retried: they are reported, the state becomes
``ERROR`` and later :meth:`send_audio` calls raise the error.

**Finishing.** :meth:`disconnect` half-closes the request stream (the vendor then sends its
last results and ends the call) and waits at most ``options["finish_timeout"]`` (3 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import abstractmethod
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from waav._exceptions import (
    ConfigError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimitError,
    ProviderTimeoutError,
)
from waav.providers._common import backoff_delays, parse_retry_after
from waav.providers._stream import AudioBacklog
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt._stream import ReconnectingSTT

__all__ = ["StreamingGrpcSTT", "import_grpc", "status_error"]

log = logging.getLogger("waav.providers.stt")

_END = object()  # half-close marker in the request queue


def import_grpc(extra: str) -> ModuleType:
    """``grpc`` (with ``grpc.aio``), or a ConfigError naming the extra that installs it."""
    try:
        import grpc
        import grpc.aio
    except ImportError:
        raise ConfigError(f"this provider needs grpcio: pip install 'waav[{extra}]'") from None
    module: ModuleType = grpc
    return module


def status_error(
    provider: str, code_name: str, details: str, retry_after: float | None = None
) -> ProviderError:
    """The waav error for a gRPC status (``code_name`` as in ``grpc.StatusCode.X.name``)."""
    msg = f"{provider}: gRPC {code_name}: {details}".rstrip(": ")
    if code_name in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return ProviderAuthError(msg, provider=provider)
    if code_name == "RESOURCE_EXHAUSTED":
        return ProviderRateLimitError(msg, provider=provider, retry_after=retry_after)
    if code_name in ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNIMPLEMENTED"):
        return ProviderProtocolError(msg, provider=provider)
    if code_name == "DEADLINE_EXCEEDED":
        return ProviderTimeoutError(msg, provider=provider)
    if code_name in ("UNAVAILABLE", "CANCELLED", "UNKNOWN", "INTERNAL", "ABORTED"):
        return ProviderConnectionError(msg, provider=provider)
    return ProviderError(msg, provider=provider)


class StreamingGrpcSTT(ReconnectingSTT):
    """A streaming STT session over one vendor gRPC call (see the module docstring)."""

    #: The extra that installs this vendor's gRPC dependencies.
    extra = "google"
    #: Default ``host:port`` root (``https://`` → TLS).
    default_url = ""
    #: Largest audio payload per request (0: any).
    max_frame_bytes = 0

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config, AudioBacklog(len))
        self._grpc: Any = None
        self._channel: Any = None
        self._call: Any = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._ready = False
        self._writer: asyncio.Task[None] | None = None
        self._unsent: list[bytes] = []

    # ------------------------------------------------------------------------------------
    # what a vendor adapter implements
    # ------------------------------------------------------------------------------------
    def check_config(self) -> None:
        """Validate config and credentials (raise a waav error naming the missing env var)."""

    async def metadata(self) -> list[tuple[str, str]]:
        """Call metadata (auth); may refresh a token."""
        return []

    def channel_credentials(self) -> Any:
        """TLS credentials for a secure channel (default: the system roots)."""
        return self._grpc.ssl_channel_credentials()

    @abstractmethod
    def open_call(self, channel: Any, metadata: list[tuple[str, str]]) -> Any:
        """Start the vendor's stream-stream method on ``channel`` (requests are written to the
        returned call with ``write``, so a failed write never masks the server's status)."""

    def first_requests(self) -> list[Any]:
        """Requests sent before any audio (configuration)."""
        return []

    @abstractmethod
    def audio_request(self, chunk: bytes) -> Any:
        """One audio request message."""

    @abstractmethod
    async def handle_response(self, response: Any) -> None:
        """Handle one response message: emit results."""

    def is_expected_end(self, code_name: str, details: str) -> bool:
        """True for routine call ends (stream-duration cap, idle timeout): reopen for free."""
        return False

    def keepalive_chunk(self) -> bytes | None:
        """Audio sent after ``keepalive_interval`` seconds without audio (None: none)."""
        return None

    # ------------------------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------------------------
    def target(self, root: str) -> tuple[str, bool]:
        """``(host:port, secure)`` for a base URL (``https://h`` → ``h:443`` over TLS)."""
        if "://" not in root:
            root = "https://" + root
        parts = urlsplit(root)
        secure = parts.scheme in ("https", "grpcs")
        port = parts.port or (443 if secure else 80)
        if not parts.hostname:
            raise ConfigError(f"{self.provider_id}: base_url {root!r} has no host")
        return f"{parts.hostname}:{port}", secure

    @abstractmethod
    def root_url(self) -> str:
        """The endpoint root (config ``base_url`` or the vendor default)."""

    # ------------------------------------------------------------------------------------
    # BaseSTT
    # ------------------------------------------------------------------------------------
    async def connect(self) -> None:
        if self.state in (ConnectionState.CONNECTED, ConnectionState.PROCESSING):
            return
        self._grpc = import_grpc(self.extra)
        self.check_config()
        _ = self.reconnection, self.keepalive_interval, self.max_buffer_bytes
        address, secure = self.target(self.root_url())
        self._closing = False
        self._fatal = None
        self.state = ConnectionState.CONNECTING
        grpc = self._grpc
        options = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]
        if secure:
            self._channel = grpc.aio.secure_channel(address, self.channel_credentials(), options=options)
        else:
            self._channel = grpc.aio.insecure_channel(address, options=options)
        try:
            try:
                await asyncio.wait_for(self._channel.channel_ready(), self.connect_timeout)
            except asyncio.TimeoutError:
                raise ProviderConnectionError(
                    f"{self.provider_id}: cannot reach {address} within {self.connect_timeout:g} s",
                    provider=self.provider_id,
                ) from None
            await self._open()
        except BaseException as exc:
            await self._close_channel()
            self.state = (
                ConnectionState.ERROR if isinstance(exc, ProviderError) else ConnectionState.DISCONNECTED
            )
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name=f"stt-{self.provider_id}")

    async def send_audio(self, audio: bytes) -> None:
        self._check_usable()
        if not audio:
            return
        self.stats.total_audio_bytes += len(audio)
        data = bytes(audio)
        most = self.max_frame_bytes or len(data)
        for i in range(0, len(data), most):
            self._put(data[i : i + most])

    async def disconnect(self) -> None:
        """Half-close the request stream, wait (bounded) for the last results, close."""
        if self._channel is None:
            self.state = ConnectionState.DISCONNECTED
            return
        self._closing = True
        call = self._call
        if call is not None and self._ready:
            self._queue.put_nowait(_END)
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(self._wait_call(call), self.finish_timeout)
        sup, self._supervisor = self._supervisor, None
        if sup is not None and not sup.done():
            sup.cancel()
            with contextlib.suppress(BaseException):
                await sup
        await self._close_channel()
        self._ended()

    # ------------------------------------------------------------------------------------
    # internals
    # ------------------------------------------------------------------------------------
    def _put(self, chunk: bytes) -> None:
        if self._ready:
            self._queue.put_nowait(chunk)
            self._last_send = time.monotonic()
        else:
            self._buffer_audio(chunk)

    async def _write(self, call: Any, queue: asyncio.Queue[Any]) -> None:
        """Feed one call from its queue; stop quietly when the call is over (the reader
        reports why). A chunk whose write failed is kept for the next call."""
        try:
            for req in self.first_requests():
                await call.write(req)
            while True:
                item = await queue.get()
                if item is _END:
                    await call.done_writing()
                    return
                try:
                    await call.write(self.audio_request(item))
                except BaseException:
                    self._unsent.append(item)
                    raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the call ended under us (AioRpcError, InvalidStateError, …)
            log.debug("%s: request stream ended: %r", self.provider_id, exc)

    async def _open(self) -> Any:
        """Start one call and return it; raise the mapped error if the server refuses it at once."""
        self._ready = False
        old = self._queue
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queue = queue
        # audio the previous call never took goes first, then what waited for this one
        for item in self._unsent:
            queue.put_nowait(item)
        self._unsent.clear()
        while not old.empty():
            item = old.get_nowait()
            if item is not _END:
                queue.put_nowait(item)
        while self._backlog:
            queue.put_nowait(self._backlog.popleft())
        self._backlog.rearm()
        metadata = await self.metadata()
        self._stop_writer()
        call = self.open_call(self._channel, metadata)
        self._call = call
        self._writer = asyncio.create_task(self._write(call, queue))
        wait = self._opt_float("ready_wait", 0.5) or 0.0
        headers = asyncio.ensure_future(call.initial_metadata())
        done = asyncio.ensure_future(call.code())
        try:
            await asyncio.wait({headers, done}, timeout=wait, return_when="FIRST_COMPLETED")
            if headers.done() and not done.done():
                # a trailers-only refusal delivers its (empty) headers and status together
                await asyncio.wait({done}, timeout=0.05)
        finally:
            headers.cancel()
        if done.done():
            code = done.result()
            if code != self._grpc.StatusCode.OK:
                raise await self._call_error(call)
        else:
            done.cancel()
        self.connections += 1
        self._ready = True
        self._last_send = time.monotonic()
        self.state = ConnectionState.CONNECTED
        return call

    async def _call_error(self, call: Any) -> ProviderError:
        code = await call.code()
        details = await call.details() or ""
        retry = None
        with contextlib.suppress(Exception):
            for key, value in await call.trailing_metadata() or ():
                if key.lower() == "retry-after":
                    retry = parse_retry_after(str(value))
        return status_error(self.provider_id, code.name, details, retry)

    async def _wait_call(self, call: Any) -> None:
        with contextlib.suppress(Exception):
            await call.code()

    async def _read(self, call: Any) -> tuple[str, str] | None:
        """Read the call to its end; None for OK, else ``(code name, details)``."""
        grpc = self._grpc
        try:
            async for response in call:
                try:
                    await self.handle_response(response)
                except ProviderError as exc:
                    await self._emit_error(exc)
                except Exception:  # a failing result callback must not end the stream
                    log.exception("%s: error while handling a vendor message", self.provider_id)
        except grpc.aio.AioRpcError as exc:
            return exc.code().name, exc.details() or ""
        except asyncio.CancelledError:
            raise
        code = await call.code()
        if code == grpc.StatusCode.OK:
            return None
        return code.name, (await call.details()) or ""

    async def _keepalive(self) -> None:
        async def send() -> bool:
            chunk = self.keepalive_chunk()
            if chunk is None:
                return False
            self._queue.put_nowait(chunk)
            return True

        await self._keep_alive(send)

    async def _supervise(self) -> None:
        delays = backoff_delays(self.reconnection)
        while True:
            keeper = asyncio.create_task(self._keepalive())
            try:
                outcome = await self._read(self._call)
            finally:
                keeper.cancel()
                with contextlib.suppress(BaseException):
                    await keeper
            self._ready = False
            if self._closing:
                return
            delay: float | None = 0.0
            if outcome is None:
                delay = await self._delay_after_loss(
                    ProviderConnectionError(
                        f"{self.provider_id}: vendor ended the stream", provider=self.provider_id
                    ),
                    delays,
                )
            elif not self.is_expected_end(*outcome):  # a routine end reopens at once, budget untouched
                delay = await self._delay_after_loss(status_error(self.provider_id, *outcome), delays)
            if delay is None or await self._reopen(self._open, delay, delays) is None:
                return
            delays = backoff_delays(self.reconnection)

    def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            writer.cancel()

    async def _close_channel(self) -> None:
        self._stop_writer()
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        channel, self._channel = self._channel, None
        if channel is not None:
            with contextlib.suppress(Exception):
                await channel.close()
        self._ready = False

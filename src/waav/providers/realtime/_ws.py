"""Base class of the realtime (speech-to-speech) adapters: one vendor WebSocket per session.

OpenAI Realtime and Hume EVI differ in message shapes, but the session plumbing is shared
and lives here:

**Creating.** The constructor validates the configuration and the credential, so a missing
``OPENAI_API_KEY`` or a bad audio format fails when the provider is created (the gateway's
``/realtime`` reports ``missing_api_key`` / ``validation_error`` then), not at the first frame.

**Connecting.** :meth:`~WebSocketRealtime.connect` makes one attempt (fail fast: a rejected
key, a 429 or an unreachable host raise the mapped waav error at once), bounded by
``options["connect_timeout"]`` (10 s). It opens the socket, sends the vendor's session
settings (:meth:`on_open`) and returns when the vendor confirmed the session (OpenAI
``session.updated``, Hume ``chat_metadata``); a vendor error in between raises.

**Audio formats.** The client's format is ``input_audio_format`` / ``output_audio_format``:
``pcm16`` (also ``linear16``, ``audio/pcm``), ``g711_ulaw`` (``pcmu``, ``mulaw``) or ``g711_alaw``
(``pcma``, ``alaw``), optionally with ``@<rate>`` (``pcm16@16000``); the rate can also be given
with ``options["input_sample_rate"]`` / ``["output_sample_rate"]`` / ``["sample_rate"]``.
Without a rate, PCM is at the vendor's own rate (the upstream behaviour) and G.711 at 8 kHz.
Audio is converted natively (:class:`~waav.providers._audio.AudioConverter`: G.711 kernels and
the streaming resampler) client → vendor before it is base64-framed, and vendor → client
before :meth:`on_audio` callbacks see it.

**Reconnecting.** A dropped socket is reopened per ``config.reconnection`` (upstream
``ReconnectionConfig``: exponential backoff from ``initial_delay_ms`` to ``max_delay_ms`` with
±25 % jitter, ``max_attempts`` tries); every attempt is reported to ``on_reconnection``. After
a successful reconnect the session settings are sent again (and the adapter restores what it
can, e.g. OpenAI replays recent transcripts as conversation items). A *session expiry* (the
vendor's duration cap) is routine: the first attempt is immediate and does not count against
``max_attempts``. A rejected key is never retried. Audio sent while reconnecting is kept (up to
``options["max_buffer_seconds"]``, 5 s; the oldest is dropped beyond that) and flushed to the
new socket; control calls wait for the new socket (up to ``connect_timeout``). When the retry
budget is spent the error goes to ``on_error``, the state becomes ``ERROR`` and later calls
raise it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import time
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from waav._exceptions import (
    AudioFormatError,
    ConfigError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimitError,
)
from waav.plugin._typed import fields_set
from waav.providers._audio import AudioConverter, canonical_encoding
from waav.providers._common import backoff_delays, error_from_exception
from waav.providers._stream import AudioBacklog, join_path, option_float, ws_url
from waav.providers.base import (
    BaseRealtime,
    ConnectionState,
    RealtimeAudioData,
    RealtimeConfig,
    ReconnectionEvent,
)

__all__ = ["AudioFormat", "WebSocketRealtime", "join_path", "merge_config", "parse_audio_format", "ws_url"]

log = logging.getLogger("waav.providers.realtime")

_FORMAT_NAMES = {
    "pcm16": "linear16",
    "linear16": "linear16",
    "pcm": "linear16",
    "audio/pcm": "linear16",
    "g711_ulaw": "mulaw",
    "pcmu": "mulaw",
    "audio/pcmu": "mulaw",
    "mulaw": "mulaw",
    "ulaw": "mulaw",
    "g711_alaw": "alaw",
    "pcma": "alaw",
    "audio/pcma": "alaw",
    "alaw": "alaw",
}


class AudioFormat:
    """A client-side audio format: ``encoding`` (linear16 / mulaw / alaw) and ``rate``."""

    __slots__ = ("encoding", "rate")

    def __init__(self, encoding: str, rate: int) -> None:
        self.encoding = encoding
        self.rate = rate

    @property
    def bytes_per_second(self) -> int:
        return self.rate * (2 if self.encoding == "linear16" else 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AudioFormat) and (self.encoding, self.rate) == (other.encoding, other.rate)

    def __hash__(self) -> int:
        return hash((self.encoding, self.rate))

    def __repr__(self) -> str:
        return f"AudioFormat({self.encoding!r}, {self.rate})"


def parse_audio_format(value: str | None, rate: Any, pcm_default_rate: int, provider: str) -> AudioFormat:
    """Parse ``pcm16``, ``g711_ulaw``, ``pcm16@16000`` … (``rate`` from options wins over none)."""
    text = (value or "pcm16").strip().lower()
    suffix: str | None = None
    if "@" in text:
        text, suffix = text.split("@", 1)
    encoding = _FORMAT_NAMES.get(text)
    if encoding is None:
        raise ConfigError(
            f"{provider}: unknown audio format {value!r}; use pcm16, g711_ulaw or g711_alaw "
            "(optionally with @<rate>, e.g. pcm16@16000)"
        )
    chosen: Any = suffix if suffix is not None else rate
    if chosen is None:
        out_rate = pcm_default_rate if encoding == "linear16" else 8000
    else:
        try:
            out_rate = int(chosen)
        except (TypeError, ValueError):
            raise ConfigError(f"{provider}: sample rate must be an integer, got {chosen!r}") from None
        if not 4000 <= out_rate <= 192000:
            raise ConfigError(f"{provider}: sample rate {out_rate} is out of range (4000–192000 Hz)")
    return AudioFormat(encoding, out_rate)


def merge_config(old: RealtimeConfig, new: RealtimeConfig) -> RealtimeConfig:
    """``update_session`` semantics: the fields ``new`` sets explicitly replace ``old``'s.

    Credentials, endpoint and provider stay unless ``new`` gives non-empty ones; ``options``
    are merged key by key. (The gateway's ``update_session`` message builds a fresh config
    without credentials, so a plain replacement would lose the key.)
    """
    kw: dict[str, Any] = {name: getattr(old, name) for name in fields_set(old)}
    for name in fields_set(new):
        value = getattr(new, name)
        if name in ("api_key", "base_url", "provider") and not value:
            continue
        if name == "provider":
            continue
        if name == "options":
            kw["options"] = {**old.options, **value}
            continue
        kw[name] = value
    return RealtimeConfig(**kw)


class _Fatal(Exception):
    """Raised inside the reader when the vendor ends the session for good."""


class WebSocketRealtime(BaseRealtime):
    """A realtime session over one vendor WebSocket (see the module docstring)."""

    kind = "realtime"
    #: The vendor's PCM rate (what it takes and sends as PCM16).
    vendor_rate = 24000

    def __init__(self, config: RealtimeConfig) -> None:
        super().__init__(config)
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._closing = False
        self._fatal: ProviderError | None = None
        self._ready = asyncio.Event()
        self._connected = asyncio.Event()
        self._open_error: ProviderError | None = None
        self._expected_close: str | None = None
        self._opened_at = 0.0
        self._backlog: AudioBacklog[bytes] = AudioBacklog(len)
        #: Connections opened so far (1 after connect, +1 per reconnect).
        self.connections = 0
        #: Vendor messages that could not be parsed (each is also reported to ``on_error``).
        self.protocol_errors = 0
        self._out_conv: AudioConverter | None = None
        self._setup(config)

    @property
    def dropped_audio_bytes(self) -> int:
        """Bytes of vendor-format audio dropped because the reconnect buffer was full."""
        return self._backlog.dropped_bytes

    # ------------------------------------------------------------------------------------
    # what a vendor adapter implements
    # ------------------------------------------------------------------------------------
    @abstractmethod
    def check_config(self, config: RealtimeConfig) -> None:
        """Validate ``config`` and its credential (raise ConfigError / ProviderAuthError)."""

    @abstractmethod
    def url(self) -> str:
        """The full ``ws(s)://`` URL to open, query string included."""

    def headers(self) -> dict[str, str]:
        return {}

    def vendor_formats(
        self, config: RealtimeConfig, client_in: AudioFormat, client_out: AudioFormat
    ) -> tuple[AudioFormat, AudioFormat]:
        """What the vendor is sent and sends back for ``config`` (default: PCM16 at
        :attr:`vendor_rate` both ways)."""
        return AudioFormat("linear16", self.vendor_rate), AudioFormat("linear16", self.vendor_rate)

    @abstractmethod
    async def on_open(self, ws: ClientConnection, *, reconnect: bool) -> None:
        """Send the session settings right after the handshake."""

    async def after_reconnect(self) -> None:
        """Restore what can be restored on a new socket (after the session was confirmed)."""

    @abstractmethod
    def audio_message(self, data: bytes) -> dict[str, Any]:
        """The vendor message carrying one chunk of vendor-format audio."""

    @abstractmethod
    async def handle_event(self, event: dict[str, Any]) -> None:
        """Handle one vendor JSON message (call :meth:`_mark_ready` when the session is up)."""

    def on_connection_lost(self) -> None:
        """Forget per-response state when a socket is lost (its responses will never finish)."""

    # ------------------------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------------------------
    def _setup(self, config: RealtimeConfig) -> None:
        """Validate ``config`` and derive formats and converters; changes nothing if it raises."""
        self.check_config(config)
        opts = config.options
        cin = parse_audio_format(
            config.input_audio_format,
            opts.get("input_sample_rate", opts.get("sample_rate")),
            self.vendor_rate,
            self.provider_id,
        )
        cout = parse_audio_format(
            config.output_audio_format,
            opts.get("output_sample_rate", opts.get("sample_rate")),
            self.vendor_rate,
            self.provider_id,
        )
        connect_timeout = self._opt_float(opts, "connect_timeout", 10.0, positive=True)
        max_buffer = self._opt_float(opts, "max_buffer_seconds", 5.0)
        vin, vout = self.vendor_formats(config, cin, cout)
        try:
            in_conv = AudioConverter(cin.encoding, cin.rate, vin.encoding, vin.rate)
        except AudioFormatError as exc:
            raise ConfigError(f"{self.provider_id}: {exc}") from None
        old_in = getattr(self, "client_input", None)
        if getattr(self, "client_output", None) != cout or getattr(self, "vendor_output", None) != vout:
            self._out_conv = None
        self.client_input, self.client_output = cin, cout
        self.vendor_input, self.vendor_output = vin, vout
        self.connect_timeout, self.max_buffer_seconds = connect_timeout, max_buffer
        if old_in != cin or not hasattr(self, "_in_conv"):
            self._in_conv = in_conv

    def _opt_float(
        self, opts: Mapping[str, Any], name: str, default: float, *, positive: bool = False
    ) -> float:
        out = option_float(opts, name, default, self.provider_id, nullable=False, positive=positive)
        assert out is not None  # not nullable
        return out

    def _output_converter(self, vendor: AudioFormat) -> AudioConverter:
        conv = self._out_conv
        if conv is None or conv.src != canonical_encoding(vendor.encoding) or conv.src_rate != vendor.rate:
            if conv is not None:
                conv.reset()
            conv = AudioConverter(
                vendor.encoding, vendor.rate, self.client_output.encoding, self.client_output.rate
            )
            self._out_conv = conv
        return conv

    # ------------------------------------------------------------------------------------
    # connection
    # ------------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return self.state == ConnectionState.CONNECTED

    async def connect(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._closing = False
        self._fatal = None
        self.state = ConnectionState.CONNECTING
        try:
            ws = await self._open(reconnect=False)
        except ProviderError:
            self.state = ConnectionState.ERROR
            raise
        self._use(ws)
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"waav-{self.provider_id}-realtime"
        )

    def _use(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._opened_at = time.monotonic()
        self.connections += 1
        self.state = ConnectionState.CONNECTED
        self._connected.set()

    async def _open(self, *, reconnect: bool) -> ClientConnection:
        """Handshake, send the session settings and wait for the vendor's confirmation."""
        self._ready = asyncio.Event()
        self._open_error = None
        self._expected_close = None
        ws: ClientConnection | None = None

        async def attempt() -> ClientConnection:
            nonlocal ws
            ws = await connect(
                self.url(),
                additional_headers=self.headers(),
                open_timeout=None,
                max_size=64 * 1024 * 1024,
                ping_interval=20,
                ping_timeout=20,
                compression=None,
            )
            await self.on_open(ws, reconnect=reconnect)
            while not self._ready.is_set():
                await self._dispatch(await ws.recv())
                if self._open_error is not None:
                    raise self._open_error
            return ws

        try:
            return await asyncio.wait_for(attempt(), self.connect_timeout)
        except BaseException as exc:
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            if isinstance(exc, asyncio.CancelledError):
                raise
            if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
                raise error_from_exception(
                    TimeoutError(f"no session within {self.connect_timeout:g} s"), self.provider_id
                ) from None
            if isinstance(exc, ConnectionClosed) and self._open_error is None:
                raise self._close_error(exc) from None
            if isinstance(exc, Exception):
                raise error_from_exception(exc, self.provider_id) from None
            raise

    def _close_error(self, exc: ConnectionClosed) -> ProviderError:
        rcvd = exc.rcvd
        code = rcvd.code if rcvd is not None else None
        reason = rcvd.reason if rcvd is not None else ""
        detail = f"closed {code}: {reason}".rstrip(": ") if code is not None else "connection dropped"
        return ProviderConnectionError(f"{self.provider_id}: {detail}", provider=self.provider_id)

    def _mark_ready(self) -> None:
        self._ready.set()

    def _fail_open(self, error: ProviderError) -> bool:
        """During :meth:`connect`, make ``error`` the connect error; True if it was taken."""
        if self._ready.is_set():
            return False
        self._open_error = error
        return True

    def _end_fatally(self, error: ProviderError) -> None:
        """The vendor ended the session for good (e.g. the key was revoked): stop reading."""
        self._fatal = error
        raise _Fatal(str(error))

    def _expect_close(self, reason: str) -> None:
        """The vendor announced it will close (session expiry): reconnect at once."""
        self._expected_close = reason

    async def _run(self) -> None:
        """Read until the socket closes; reconnect unless closing or fatal."""
        while True:
            ws = self._ws
            assert ws is not None
            error: ProviderError | None = None
            try:
                async for message in ws:
                    await self._dispatch(message)
            except ConnectionClosed as exc:
                error = self._close_error(exc)
            except _Fatal:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            except Exception as exc:  # pragma: no cover - defensive
                log.exception("%s: reader failed", self.provider_id)
                error = error_from_exception(exc, self.provider_id)
            if self._closing:
                return
            self._connected.clear()
            self.on_connection_lost()
            if self._fatal is not None:
                await self._give_up(self._fatal)
                return
            if error is None:
                code, reason = ws.close_code, ws.close_reason
                detail = f" ({code}{': ' + reason if reason else ''})" if code is not None else ""
                error = ProviderConnectionError(
                    f"{self.provider_id}: vendor closed the session{detail}", provider=self.provider_id
                )
            if not await self._reconnect(error):
                return

    async def _reconnect(self, error: ProviderError) -> bool:
        cfg = self.config.reconnection
        expected = self._expected_close is not None or self.is_expected_close(self._ws)
        if not cfg.enabled:
            await self._give_up(error)
            return False
        self.state = ConnectionState.RECONNECTING
        lived = time.monotonic() - self._opened_at
        log.info("%s: connection lost (%s); reconnecting", self.provider_id, error)
        attempt = 0
        retry_after: float | None = None
        last: ProviderError = error

        async def one(delay: float) -> bool:
            nonlocal attempt, retry_after, last
            attempt += 1
            if delay > 0:
                await asyncio.sleep(delay)
            if self._closing:
                return False
            try:
                ws = await self._open(reconnect=True)
            except ProviderAuthError as exc:
                await self._reconnection.emit(ReconnectionEvent(attempt, False, str(exc)))
                self._fatal = exc
                raise
            except ProviderError as exc:
                last = exc
                retry_after = exc.retry_after if isinstance(exc, ProviderRateLimitError) else None
                await self._reconnection.emit(ReconnectionEvent(attempt, False, str(exc)))
                return False
            if self._closing:
                with contextlib.suppress(Exception):
                    await ws.close()
                return False
            self._use(ws)
            await self._reconnection.emit(ReconnectionEvent(attempt, True, None))
            await self.after_reconnect()
            await self._flush_buffer()
            return True

        try:
            if expected and lived >= 1.0 and await one(0.0):
                return True
            for delay in backoff_delays(cfg):
                if self._closing:
                    return False
                if retry_after is not None:
                    delay = max(delay, retry_after)
                if await one(delay):
                    return True
        except ProviderAuthError as exc:
            await self._give_up(exc)
            return False
        if self._closing:
            return False
        await self._give_up(
            ProviderConnectionError(
                f"{self.provider_id}: could not reconnect after {attempt} attempt(s): {last}",
                provider=self.provider_id,
            )
        )
        return False

    def is_expected_close(self, ws: ClientConnection | None) -> bool:
        """True when the vendor closed on purpose in a way a reconnect cures (session cap)."""
        return False

    async def _give_up(self, error: ProviderError) -> None:
        self._fatal = error
        self.state = ConnectionState.ERROR
        self._ws = None
        await self._report(error)

    async def disconnect(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2.0)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._connected.clear()
        self._backlog.clear()
        self.state = ConnectionState.DISCONNECTED

    # ------------------------------------------------------------------------------------
    # receiving
    # ------------------------------------------------------------------------------------
    async def _dispatch(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self.protocol_errors += 1
            await self._report(
                ProviderProtocolError(
                    f"{self.provider_id}: unparseable vendor message: {exc}", provider=self.provider_id
                )
            )
            return
        try:
            await self.handle_event(event)
        except _Fatal:
            raise
        except ProviderError as exc:
            await self._report(exc)
        except Exception:  # a failing callback or a malformed event must not end the session
            log.exception("%s: error handling %r", self.provider_id, event.get("type"))

    async def _report(self, error: ProviderError) -> None:
        try:
            await self._error.emit(error)
        except Exception:
            log.exception("%s: on_error callback failed", self.provider_id)

    async def _emit_audio(
        self, vendor_audio: bytes, fmt: AudioFormat, item_id: str | None, response_id: str | None
    ) -> None:
        data = self._output_converter(fmt).feed(vendor_audio)
        if data:
            await self._audio.emit(RealtimeAudioData(data, self.client_output.rate, item_id, response_id))

    async def _flush_audio(self, item_id: str | None, response_id: str | None) -> None:
        conv = self._out_conv
        if conv is None:
            return
        data = conv.flush()
        if data:
            await self._audio.emit(RealtimeAudioData(data, self.client_output.rate, item_id, response_id))

    def _reset_output(self) -> None:
        if self._out_conv is not None:
            self._out_conv.reset()

    # ------------------------------------------------------------------------------------
    # sending
    # ------------------------------------------------------------------------------------
    def _check_usable(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self.state in (ConnectionState.DISCONNECTED, ConnectionState.ERROR) or self._closing:
            raise ProviderConnectionError(f"{self.provider_id}: not connected", provider=self.provider_id)

    async def send_audio(self, audio: bytes) -> None:
        self._check_usable()
        data = self._in_conv.feed(audio)
        if data:
            await self._send_audio_vendor(data)

    async def _send_audio_vendor(self, data: bytes) -> None:
        if self.state == ConnectionState.CONNECTED and self._ws is not None and not self._backlog:
            try:
                await self._send(self.audio_message(data))
                return
            except ConnectionClosed:
                pass
        self._buffer_audio(data)

    def _buffer_audio(self, data: bytes) -> None:
        self._backlog.push(data, int(self.max_buffer_seconds * self.vendor_input.bytes_per_second))

    async def _flush_buffer(self) -> None:
        async def send(chunk: bytes) -> None:
            await self._send(self.audio_message(chunk))

        with contextlib.suppress(ConnectionClosed):
            await self._backlog.drain(send, go_on=lambda: self.state == ConnectionState.CONNECTED)

    def _drop_buffered_audio(self) -> None:
        self._backlog.clear()

    async def _send(self, event: Mapping[str, Any]) -> None:
        ws = self._ws
        if ws is None:
            raise ConnectionClosed(None, None)
        text = json.dumps(event, separators=(",", ":"))
        async with self._send_lock:
            await ws.send(text)

    async def _send_control(self, event: Mapping[str, Any]) -> None:
        """Send a control message, waiting (bounded) for a reconnect in progress."""
        for _ in range(2):
            self._check_usable()
            if self.state != ConnectionState.CONNECTED or not self._connected.is_set():
                try:
                    await asyncio.wait_for(self._connected.wait(), self.connect_timeout)
                except (asyncio.TimeoutError, TimeoutError):
                    raise ProviderConnectionError(
                        f"{self.provider_id}: not connected (reconnecting)", provider=self.provider_id
                    ) from None
                self._check_usable()
            try:
                await self._send(event)
                return
            except (ConnectionClosed, WebSocketException):
                self._connected.clear()
                await asyncio.sleep(0)
        raise ProviderConnectionError(
            f"{self.provider_id}: connection lost while sending", provider=self.provider_id
        )

    async def _flush_input(self) -> None:
        """Push the input resampler's tail (before a commit)."""
        tail = self._in_conv.flush()
        if tail:
            await self._send_audio_vendor(tail)

    # ------------------------------------------------------------------------------------
    # shared helpers
    # ------------------------------------------------------------------------------------
    def _apply_config(self, config: RealtimeConfig) -> RealtimeConfig:
        """Merge ``config`` into the current one, re-validate, rebuild converters if needed."""
        merged = merge_config(self.config, config)
        self._setup(merged)  # raises before anything changes if the new config is invalid
        self.config = merged
        return merged

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info.update(
            state=self.state.value,
            connections=self.connections,
            client_input={"encoding": self.client_input.encoding, "sample_rate": self.client_input.rate},
            client_output={"encoding": self.client_output.encoding, "sample_rate": self.client_output.rate},
            dropped_audio_bytes=self.dropped_audio_bytes,
        )
        return info


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: Any, provider: str) -> bytes:
    """Strict base64 decode of vendor audio; a bad payload is a protocol error."""
    if not isinstance(text, str):
        raise ProviderProtocolError(f"{provider}: audio payload is not a string", provider=provider)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderProtocolError(
            f"{provider}: audio payload is not base64: {exc}", provider=provider
        ) from None


_RATE_WORDS = re.compile(r"rate.?limit|quota|too.?many", re.IGNORECASE)
_AUTH_WORDS = re.compile(r"api.?key|auth|unauthori[sz]ed|forbidden|credential", re.IGNORECASE)


def classify_vendor_error(
    provider: str, text: str, *, rate: bool = False, auth: bool = False
) -> ProviderError:
    """A waav error for an in-band vendor error (rate limit / auth / other by its code words)."""
    if rate or _RATE_WORDS.search(text):
        return ProviderRateLimitError(f"{provider}: {text}", provider=provider)
    if auth or _AUTH_WORDS.search(text):
        return ProviderAuthError(f"{provider}: {text}", provider=provider)
    return ProviderError(f"{provider}: {text}", provider=provider)

"""Session plumbing shared by the STT base classes (WebSocket, gRPC, REST).

:class:`SessionSTT` holds what every live STT session has: the fatal error that ends it, the
bounded backlog of audio waiting to be sent (:class:`~waav.providers._stream.AudioBacklog`),
once-per-outage overflow reports, the reconnect option and giving up.
:class:`ReconnectingSTT` adds what the two streaming transports (WebSocket, gRPC) share: their
options (``connect_timeout``, ``finish_timeout``, ``keepalive_interval``,
``max_buffer_seconds``), the keepalive timer and the reconnect loop with backoff and jitter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from waav._exceptions import ProviderAuthError, ProviderError, ProviderProtocolError
from waav.providers._audio import canonical_encoding
from waav.providers._stream import AudioBacklog, option_float, reconnection_option, report_soon
from waav.providers.base import BaseSTT, ConnectionState, ReconnectionConfig, STTConfig

__all__ = ["ReconnectingSTT", "SessionSTT"]

log = logging.getLogger("waav.providers.stt")

T = TypeVar("T")

_BYTES_PER_SAMPLE = {"linear16": 2, "float32": 4, "mulaw": 1, "alaw": 1, "wav": 2}


class SessionSTT(BaseSTT):
    """A live STT session: fatal error, bounded audio backlog, reconnect option, giving up."""

    kind = "stt"

    def __init__(self, config: STTConfig, backlog: AudioBacklog[Any]) -> None:
        super().__init__(config)
        self._backlog = backlog
        self._closing = False
        self._fatal: ProviderError | None = None
        self._reported: set[ProviderError] = set()

    @property
    def dropped_audio_bytes(self) -> int:
        """Bytes of audio dropped because the backlog was full."""
        return self._backlog.dropped_bytes

    @property
    def reconnection(self) -> ReconnectionConfig:
        return reconnection_option(self.config.options, self.provider_id)

    def _check_usable(self) -> None:
        """Raise the fatal error, or an error when the session is not connected."""
        if self._fatal is not None:
            raise self._fatal
        if self._closing or self.state in (ConnectionState.DISCONNECTED, ConnectionState.ERROR):
            raise ProviderError(f"{self.provider_id}: STT not connected", provider=self.provider_id)

    async def _report(self, error: ProviderError) -> None:
        """Deliver ``error`` to ``on_error`` once (it may reach here by two paths)."""
        if error in self._reported:
            return
        self._reported.add(error)
        await self._emit_error(error)

    def _report_overflow(self, dropped: int, message: str) -> None:
        """Report ``message`` when audio was ``dropped``, once per outage."""
        if dropped and self._backlog.overflow_is_new():
            error = ProviderError(f"{self.provider_id}: {message}", provider=self.provider_id)
            report_soon(self._report(error))

    async def _give_up(self, error: ProviderError) -> None:
        """End the session with ``error``: later calls raise it."""
        self._fatal = error
        self.state = ConnectionState.ERROR
        self._backlog.clear()
        await self._report(error)

    def _ended(self) -> None:
        """Forget the session (after :meth:`disconnect`)."""
        self._backlog.clear()
        self._fatal = None
        self.state = ConnectionState.DISCONNECTED


class ReconnectingSTT(SessionSTT):
    """A streaming STT session that reconnects (see the module docstring)."""

    #: Seconds without audio before a keepalive is sent; None: the vendor needs none.
    default_keepalive_interval: float | None = None

    def __init__(self, config: STTConfig, backlog: AudioBacklog[bytes]) -> None:
        super().__init__(config, backlog)
        self._supervisor: asyncio.Task[None] | None = None
        self._last_send = time.monotonic()
        #: Connections opened so far in this session (1 after connect, +1 per reconnect).
        self.connections = 0

    # ------------------------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------------------------
    def _opt_float(self, name: str, default: float | None) -> float | None:
        return option_float(self.config.options, name, default, self.provider_id)

    @property
    def keepalive_interval(self) -> float | None:
        """Seconds of silence before a keepalive (None or 0: off)."""
        return self._opt_float("keepalive_interval", self.default_keepalive_interval) or None

    @property
    def connect_timeout(self) -> float:
        return self._opt_float("connect_timeout", 10.0) or 10.0

    @property
    def finish_timeout(self) -> float:
        value = self._opt_float("finish_timeout", 3.0)
        return 3.0 if value is None else value

    @property
    def bytes_per_second(self) -> int:
        """Audio bytes per second for the configured encoding, rate and channels."""
        try:
            width = _BYTES_PER_SAMPLE.get(canonical_encoding(self.config.encoding), 2)
        except ValueError:
            width = 2
        return self.config.sample_rate * self.config.channels * width

    @property
    def max_buffer_bytes(self) -> int:
        seconds = self._opt_float("max_buffer_seconds", 10.0)
        return int((10.0 if seconds is None else seconds) * self.bytes_per_second)

    @property
    def buffered_bytes(self) -> int:
        """Audio waiting for a (re)connection."""
        return self._backlog.nbytes

    # ------------------------------------------------------------------------------------
    # buffering, keepalive, reconnecting
    # ------------------------------------------------------------------------------------
    def _buffer_audio(self, chunk: bytes, *, front: bool = False) -> None:
        limit = self.max_buffer_bytes
        self._report_overflow(
            self._backlog.push(chunk, limit, front=front),
            f"audio buffer full while (re)connecting (max_buffer_seconds bound of {limit} bytes); "
            "dropping the oldest audio",
        )

    async def _keep_alive(self, send: Callable[[], Awaitable[bool]]) -> None:
        """Call ``send`` after every ``keepalive_interval`` without audio (until it says False)."""
        interval = self.keepalive_interval
        if interval is None:
            return
        while True:
            wait = self._last_send + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if not await send():
                return
            self._last_send = time.monotonic()

    def _retryable(self, error: ProviderError) -> bool:
        if isinstance(error, (ProviderAuthError, ProviderProtocolError)):
            return False
        return self.reconnection.enabled

    async def _next_delay(self, error: ProviderError, delays: Iterator[float]) -> float | None:
        """Seconds to wait before retrying after ``error`` (its ``retry_after`` honoured);
        None when it is not retryable or the budget is spent: then the session gave up."""
        delay = next(delays, None) if self._retryable(error) else None
        if delay is None:
            await self._give_up(error)
            return None
        return max(delay, getattr(error, "retry_after", None) or 0.0)

    async def _delay_after_loss(self, error: ProviderError, delays: Iterator[float]) -> float | None:
        """:meth:`_next_delay` for a stream that was lost (logged)."""
        delay = await self._next_delay(error, delays)
        if delay is not None:
            log.warning("%s: stream lost (%s); reconnecting in %.2f s", self.provider_id, error, delay)
        return delay

    async def _reopen(
        self, open_once: Callable[[], Awaitable[T]], delay: float, delays: Iterator[float]
    ) -> T | None:
        """Wait ``delay``, then try ``open_once`` with backoff until it works; None when the
        session is closing or gave up."""
        self.state = ConnectionState.RECONNECTING
        while True:
            if delay:
                await asyncio.sleep(delay)
            if self._closing:
                return None
            try:
                return await open_once()
            except ProviderError as exc:
                nxt = await self._next_delay(exc, delays)
                if nxt is None:
                    return None
                delay = nxt

"""Shared machinery of the streaming WebSocket STT fakes (one subclass per vendor).

A fake accepts one WebSocket per session at the vendor's path, checks the handshake the way
the vendor does (auth, required query parameters), then reads client messages in order. Audio
advances a script: after every ``bytes_per_result`` bytes of audio the next scripted utterance
is answered in the vendor's shapes — an interim result with the first half of its words, then
the final result with word timings (``0.3 s`` per word from the utterance's start in the
audio). The vendor's finalize / finish messages are answered as the vendor does.

Faults (:class:`~waav.testing.fakes.Faults`) every WebSocket STT fake honours:

=========================  ======================================================================
``reject_auth``            refuse the credentials the way the vendor does (HTTP 401 at the
                           handshake, or its in-band auth error and close)
``rate_limit_retry_after``  HTTP 429 at the handshake with that ``Retry-After``
``drop_after``             abort the TCP connection (no close frame) after that many client
                           messages — on the first session only, so a reconnect succeeds
``first_result_delay``     wait that long before the first result of a session
``idle_close_after``       close the way the vendor closes idle streams when no message
                           arrived for that many seconds
``ignore_finalize``        never answer the finalize / finish messages (the stream stays open)
``vendor_error``           answer the first audio with the vendor's error message and close
=========================  ======================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from waav._exceptions import ProviderError
from waav.plugin import BaseSTT, STTResult
from waav.testing.fakes._server import FakeServer, Faults, RecordedRequest

__all__ = ["ClientEvent", "STTCollector", "ScriptedSTTFake", "Session", "Word", "abort_connection"]

#: Seconds between scripted words.
WORD_STEP = 0.3
WORD_LENGTH = 0.25


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    confidence: float = 0.9


@dataclass
class ClientEvent:
    """What one client message means: ``audio`` (with its PCM), ``keepalive``, ``finalize``,
    ``finish``, ``config`` or ``other``."""

    kind: str
    audio: bytes = b""


class ProtocolViolation(Exception):
    """The client broke the vendor protocol; the fake answers with the vendor's error."""


@dataclass
class Session:
    """State of one fake vendor session."""

    record: RecordedRequest
    index: int
    audio_bytes: int = 0
    #: Audio already answered by results (the rest is pending).
    consumed: int = 0
    next_utterance: int = 0
    results_sent: int = 0
    messages: int = 0
    started: bool = False
    finishing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def abort_connection(ws: WebSocket) -> bool:
    """Drop the TCP connection under ``ws`` without a close frame (a network failure)."""
    send: Any = ws._send
    for _ in range(10):
        owner = getattr(send, "__self__", None)
        transport = getattr(owner, "transport", None)
        if transport is not None:
            transport.abort()
            return True
        nxt = None
        for cell in getattr(send, "__closure__", None) or ():
            value = cell.cell_contents
            if callable(value):
                nxt = value
                break
        if nxt is None:
            return False
        send = nxt
    return False


class ScriptedSTTFake(FakeServer):
    """Base of the WebSocket STT fakes. Subclasses set :attr:`path` and the vendor hooks."""

    #: Route of the vendor's streaming endpoint.
    path = "/"
    #: Whether the vendor rejects bad credentials at the HTTP handshake (else in-band).
    auth_at_handshake = True
    #: Whether the connection stays open after the finish message was answered.
    keep_open_after_finish = False

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        api_key: str = "test-key",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
    ) -> None:
        super().__init__(faults=faults)
        #: Utterances answered in order, one per ``bytes_per_result`` bytes of audio.
        self.script = list(script)
        #: The credential the fake accepts.
        self.api_key = api_key
        self.bytes_per_result = bytes_per_result
        #: Audio bytes per second assumed for word timings (16 kHz PCM16 mono).
        self.bytes_per_second = 32000
        #: Sessions opened so far.
        self.sessions = 0

    # --- vendor hooks -------------------------------------------------------------------
    def check_handshake(self, ws: WebSocket) -> Response | None:
        """Return the HTTP error a vendor answers this handshake with, or None to accept."""
        return None

    def credentials_ok(self, ws: WebSocket) -> bool:
        """Whether the handshake carries the right credential."""
        return True

    async def on_open(self, ws: WebSocket, s: Session) -> None:
        """Right after accept (send the vendor's session-started message)."""

    async def reject_in_band(self, ws: WebSocket, s: Session) -> None:
        """Refuse the credentials after the upgrade (vendors that check in-band)."""
        await ws.close(1008, "Unauthorized")

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        """Classify one client message (raise ProtocolViolation for a vendor error)."""
        if isinstance(data, bytes):
            return ClientEvent("audio", data)
        return ClientEvent("other")

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        """Send one interim (``final=False``) or final result with these words."""
        raise NotImplementedError

    async def on_config(self, ws: WebSocket, s: Session) -> None:
        """A start/config message arrived."""

    async def on_finalize(self, ws: WebSocket, s: Session) -> None:
        """Answer the vendor's flush message (pending results are already sent)."""

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        """Answer the vendor's end-of-stream message, normally by closing."""
        await ws.close(1000)

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        """Send the vendor's error message and close the way it does."""
        await ws.close(1011, message[:120])

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        """Close the way the vendor closes an idle stream."""
        await ws.close(1000, "idle timeout")

    def extra_routes(self) -> list[BaseRoute]:
        """More routes (token endpoints)."""
        return []

    # --- helpers --------------------------------------------------------------------------
    @staticmethod
    def deny(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def words_of(self, index: int) -> list[Word]:
        """The scripted words of utterance ``index`` with their timings."""
        text = self.script[index]
        base = index * self.bytes_per_result / max(1, self.bytes_per_second)
        return [
            Word(w, round(base + k * WORD_STEP, 3), round(base + k * WORD_STEP + WORD_LENGTH, 3))
            for k, w in enumerate(text.split())
        ]

    @staticmethod
    def transcript(words: Sequence[Word]) -> str:
        return " ".join(w.text for w in words)

    # --- the endpoint -----------------------------------------------------------------------
    def build_app(self) -> Starlette:
        return Starlette(routes=[WebSocketRoute(self.path, self._endpoint), *self.extra_routes()])

    async def _endpoint(self, ws: WebSocket) -> None:
        record = self.recorder.start(ws)
        self.sessions += 1
        s = Session(record=record, index=self.sessions)
        f = self.faults
        if f.reject_auth and self.auth_at_handshake:
            await ws.send_denial_response(self.deny(401, "invalid credentials"))
            return
        if f.rate_limit_retry_after is not None:
            await ws.send_denial_response(
                self.deny(429, "too many requests", {"Retry-After": f"{f.rate_limit_retry_after:g}"})
            )
            return
        denial = self.check_handshake(ws)
        if denial is not None:
            await ws.send_denial_response(denial)
            return
        await ws.accept()
        if f.reject_auth or not self.credentials_ok(ws):
            await self.reject_in_band(ws, s)
            return
        await self.on_open(ws, s)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self._serve(ws, s)

    async def _serve(self, ws: WebSocket, s: Session) -> None:
        f = self.faults
        while True:
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout=f.idle_close_after)
            except asyncio.TimeoutError:
                await self.idle_close(ws, s)
                return
            if msg["type"] == "websocket.disconnect":
                return
            data: str | bytes = msg["bytes"] if msg.get("bytes") is not None else msg.get("text") or ""
            s.record.messages.append(data)
            s.messages += 1
            if f.drop_after is not None and s.index == 1 and s.messages >= f.drop_after:
                if not abort_connection(ws):  # pragma: no cover - transport not reachable
                    await ws.close(1011, "dropped")
                return
            try:
                event = self.parse(data, s)
            except ProtocolViolation as exc:
                await self.send_error(ws, s, str(exc))
                return
            if event.kind == "audio":
                if f.vendor_error is not None:
                    await self.send_error(ws, s, f.vendor_error)
                    return
                s.audio_bytes += len(event.audio)
                await self._advance(ws, s)
            elif event.kind == "config":
                await self.on_config(ws, s)
            elif event.kind == "finalize":
                if f.ignore_finalize:
                    continue
                await self.on_finalize(ws, s)
            elif event.kind == "finish":
                s.finishing = True
                if f.ignore_finalize:
                    continue
                await self.on_finish(ws, s)
                if not self.keep_open_after_finish:
                    return
                s.finishing = False

    def take_pending(self, s: Session) -> list[Word] | None:
        """For a flush: the next utterance's words when unanswered audio is pending, else None."""
        if s.audio_bytes > s.consumed and s.next_utterance < len(self.script):
            s.consumed = s.audio_bytes
            s.next_utterance += 1
            return self.words_of(s.next_utterance - 1)
        return None

    async def _advance(self, ws: WebSocket, s: Session) -> None:
        while s.next_utterance < len(self.script) and s.audio_bytes - s.consumed >= self.bytes_per_result:
            index = s.next_utterance
            s.next_utterance += 1
            s.consumed += self.bytes_per_result
            words = self.words_of(index)
            if s.results_sent == 0 and self.faults.first_result_delay:
                await asyncio.sleep(self.faults.first_result_delay)
            await self.send_results(ws, s, words[: max(1, len(words) // 2)], final=False)
            await self.send_results(ws, s, words, final=True)
            s.results_sent += 1

    @staticmethod
    async def send_json(ws: WebSocket, payload: Any) -> None:
        await ws.send_text(json.dumps(payload))


class STTCollector:
    """Collects what an STT session delivers (results and errors) and waits for it.

    ::

        got = STTCollector(stt)          # registers on_result / on_error
        await stt.connect()
        ...
        await got.wait_for(lambda: got.finals)
    """

    def __init__(self, stt: BaseSTT) -> None:
        self.results: list[STTResult] = []
        self.errors: list[ProviderError] = []
        stt.on_result(self.results.append)
        stt.on_error(self.errors.append)

    @property
    def finals(self) -> list[STTResult]:
        """The final results so far."""
        return [r for r in self.results if r.is_final]

    @property
    def transcripts(self) -> list[str]:
        """The transcripts of the final results so far."""
        return [r.transcript for r in self.finals]

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Poll ``predicate`` until it is truthy; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"condition not met within {timeout} s (results={self.results}, errors={self.errors})"
                )
            await asyncio.sleep(0.005)

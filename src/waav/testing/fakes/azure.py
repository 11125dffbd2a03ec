"""Fake Azure Speech recognition WebSocket (Speech service WebSocket protocol), no network.

Route ``/speech/recognition/{conversation|interactive|dictation}/cognitiveservices/v1``. At
the handshake it checks ``Ocp-Apim-Subscription-Key`` (or ``Authorization: Bearer``; HTTP 401
otherwise), the ``X-ConnectionId`` header and the ``language`` query parameter (HTTP 400).
Then it enforces the message protocol: header-framed text messages, ``speech.config`` before
any audio, binary audio messages with the 2-byte header-length prefix, ``Path: audio`` and an
``X-RequestId``, a RIFF/WAVE header (PCM, matching sample rate and channels) at the start of
each request's audio (a violation closes with ``1007``). Answers ``turn.start``,
``speech.startDetected``, ``speech.hypothesis``, detailed ``speech.phrase`` (with ``Words``
when ``wordLevelTimestamps=true``; with ``noise=True`` a ``NoMatch`` phrase precedes each
utterance), and for the empty end-of-audio message the pending phrase, ``speech.endDetected``
and ``turn.end``. Idle fault: a close with reason "Service timeout"; ``vendor_error``: a close
``1007`` with the message.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

from starlette.responses import Response
from starlette.websockets import WebSocket

from waav.testing.fakes._server import Faults
from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeAzureSpeech"]

TICKS = 10_000_000


def _headers(text: str) -> dict[str, str]:
    out = {}
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


class FakeAzureSpeech(ScriptedSTTFake):
    """In-process Azure Speech recognition WebSocket (see the module docstring)."""

    vendor = "microsoft-azure"
    path = "/speech/recognition/{mode}/cognitiveservices/v1"
    keep_open_after_finish = True  # like the service: the client closes after turn.end

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        api_key: str = "test-key",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
        noise: bool = False,
    ) -> None:
        super().__init__(script, api_key=api_key, faults=faults, bytes_per_result=bytes_per_result)
        #: Send a ``NoMatch`` phrase (noise, no speech) before each utterance.
        self.noise = noise

    def check_handshake(self, ws: WebSocket) -> Response | None:
        h = ws.headers
        bearer = h.get("authorization", "").removeprefix("Bearer ").strip()
        if self.api_key not in (h.get("ocp-apim-subscription-key"), bearer):
            return self.deny(401, "Access denied due to invalid subscription key")
        if ws.path_params.get("mode") not in ("conversation", "interactive", "dictation"):
            return self.deny(404, "Resource not found")
        if not h.get("x-connectionid"):
            return self.deny(400, "X-ConnectionId header is required")
        if not ws.query_params.get("language"):
            return self.deny(400, "language query parameter is required")
        return None

    async def on_open(self, ws: WebSocket, s: Session) -> None:
        s.extra.update(config=False, request=None, turn=False)

    def _send_text(self, ws: WebSocket, s: Session, path: str, body: object) -> str:
        request = s.extra.get("request") or "0" * 32
        return (
            f"X-RequestId:{request}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n"
            + json.dumps(body)
        )

    async def _text(self, ws: WebSocket, s: Session, path: str, body: object) -> None:
        await ws.send_text(self._send_text(ws, s, path, body))

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, str):
            head, _, body = data.partition("\r\n\r\n")
            headers = _headers(head)
            if headers.get("path") == "speech.config":
                json.loads(body or "{}")
                s.extra["config"] = True
                return ClientEvent("config")
            if headers.get("path") in ("speech.context", "telemetry"):
                return ClientEvent("other")
            raise ProtocolViolation(f"unexpected text message path {headers.get('path')!r}")
        if len(data) < 2:
            raise ProtocolViolation("binary message without header length")
        (size,) = struct.unpack(">H", data[:2])
        headers = _headers(data[2 : 2 + size].decode("ascii", "replace"))
        payload = data[2 + size :]
        if headers.get("path") != "audio" or not headers.get("x-requestid"):
            raise ProtocolViolation("audio message needs Path: audio and X-RequestId")
        if not s.extra["config"]:
            raise ProtocolViolation("speech.config must precede audio")
        if not payload:
            return ClientEvent("finish")
        if headers["x-requestid"] != s.extra["request"]:  # a new request: audio starts with RIFF
            if payload[:4] != b"RIFF" or payload[8:16] != b"WAVEfmt ":
                raise ProtocolViolation("the first audio message must start with a RIFF/WAVE header")
            tag, channels, rate = struct.unpack("<HHI", payload[20:28])
            if tag != 1 or rate <= 0 or channels <= 0:
                raise ProtocolViolation(f"unsupported audio format tag={tag} rate={rate}")
            s.extra.update(request=headers["x-requestid"], rate=rate)
            payload = payload[44:]
        return ClientEvent("audio", payload)

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        if not s.extra["turn"]:
            s.extra["turn"] = True
            await self._text(ws, s, "turn.start", {"context": {"serviceTag": "fake"}})
        offset = round(words[0].start * TICKS)
        duration = round((words[-1].end - words[0].start) * TICKS)
        if not final:
            if self.noise:
                await self._text(
                    ws, s, "speech.phrase", {"RecognitionStatus": "NoMatch", "Offset": 0, "Duration": 0}
                )
            await self._text(ws, s, "speech.startDetected", {"Offset": offset})
            text = self.transcript(words).lower()
            await self._text(
                ws, s, "speech.hypothesis", {"Text": text, "Offset": offset, "Duration": duration}
            )
            return
        best: dict[str, object] = {
            "Confidence": 0.93,
            "Lexical": self.transcript(words).lower(),
            "ITN": self.transcript(words).lower(),
            "MaskedITN": self.transcript(words).lower(),
            "Display": self.transcript(words),
        }
        if ws.query_params.get("wordLevelTimestamps") == "true":
            best["Words"] = [
                {
                    "Word": w.text,
                    "Offset": round(w.start * TICKS),
                    "Duration": round((w.end - w.start) * TICKS),
                }
                for w in words
            ]
        phrase = {
            "RecognitionStatus": "Success",
            "Offset": offset,
            "Duration": duration,
            "DisplayText": self.transcript(words),
            "NBest": [best],
        }
        await self._text(ws, s, "speech.phrase", phrase)

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        words = self.take_pending(s)
        if words:
            await self.send_results(ws, s, words, final=True)
            s.results_sent += 1
        await self._text(ws, s, "speech.endDetected", {"Offset": 0})
        await self._text(ws, s, "turn.end", {})
        s.extra.update(request=None, turn=False)

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        await ws.close(1007, message[:120])

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await ws.close(1000, "Service timeout: no audio received")

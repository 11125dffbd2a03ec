"""Fake AssemblyAI Universal-Streaming v3 (``/v3/ws``), for tests without the network.

Accepts the upgrade, then checks like the service does, in band: the ``Authorization``
header must be the API key and ``sample_rate`` a positive integer, else an
``Error {error_code, error}`` frame and a close with that code. Opens with ``Begin``; takes
binary audio of 50–1000 ms per message (else error ``3007`` "Input duration violation"), and
the text messages ``ForceEndpoint``, ``KeepAlive``, ``UpdateConfiguration``, ``Terminate``.
Answers ``Turn`` messages: partials (``end_of_turn: false``, words with ``word_is_final``),
the end of turn, and with ``format_turns=true`` the formatted end of turn again; ``Terminate``
gets any pending turn, ``Termination`` and a normal close. The idle fault imitates
``inactivity_timeout``: an unsolicited ``Termination`` and a normal close.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from starlette.websockets import WebSocket

from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeAssemblyAI"]


class FakeAssemblyAI(ScriptedSTTFake):
    """In-process AssemblyAI streaming v3 WebSocket (see the module docstring)."""

    vendor = "assemblyai"
    path = "/v3/ws"
    auth_at_handshake = False

    def credentials_ok(self, ws: WebSocket) -> bool:
        return ws.headers.get("authorization") == self.api_key

    async def reject_in_band(self, ws: WebSocket, s: Session) -> None:
        await self._error(ws, 1008, "Unauthorized connection: Invalid API key")

    async def _error(self, ws: WebSocket, code: int, message: str) -> None:
        await self.send_json(ws, {"type": "Error", "error_code": code, "error": message})
        await ws.close(code, "See Error message for details")

    async def on_open(self, ws: WebSocket, s: Session) -> None:
        rate = ws.query_params.get("sample_rate", "")
        if not rate.isdigit() or int(rate) <= 0:
            await self._error(ws, 3006, "Invalid query parameter: sample_rate must be a positive integer")
            return
        width = 1 if ws.query_params.get("encoding") == "pcm_mulaw" else 2
        s.extra["bytes_per_ms"] = int(rate) * width / 1000
        s.extra["id"] = str(uuid.uuid4())
        await self.send_json(
            ws, {"type": "Begin", "id": s.extra["id"], "expires_at": int(time.time()) + 10800}
        )

    async def _serve(self, ws: WebSocket, s: Session) -> None:
        if s.extra.get("id") is None:
            return  # rejected in on_open
        await super()._serve(ws, s)

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, bytes):
            ms = len(data) / s.extra["bytes_per_ms"]
            if not 50 <= ms <= 1000:
                raise ProtocolViolation(
                    f"Input duration violation: {ms:.2f} ms. Expected between 50 and 1000 ms"
                )
            return ClientEvent("audio", data)
        kind = json.loads(data).get("type")
        mapping = {
            "ForceEndpoint": "finalize",
            "Terminate": "finish",
            "KeepAlive": "keepalive",
            "UpdateConfiguration": "config",
        }
        if kind not in mapping:
            raise ProtocolViolation(f"Invalid message type: {kind!r}")
        return ClientEvent(mapping[kind])

    def _turn(
        self, s: Session, words: list[Word], *, end: bool, formatted: bool, final_words: int
    ) -> dict[str, object]:
        def plain(text: str) -> str:
            return re.sub(r"[^\w\s']", "", text).lower()

        text = " ".join(w.text if formatted else plain(w.text) for w in words[:final_words])
        return {
            "type": "Turn",
            "turn_order": s.results_sent,
            "turn_is_formatted": formatted,
            "end_of_turn": end,
            "transcript": text,
            "end_of_turn_confidence": 0.91 if end else 0.02,
            "words": [
                {
                    "start": round(w.start * 1000),
                    "end": round(w.end * 1000),
                    "text": w.text if formatted else plain(w.text),
                    "confidence": w.confidence,
                    "word_is_final": k < final_words,
                }
                for k, w in enumerate(words)
            ],
            "utterance": text if end else "",
        }

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        if not final:
            await self.send_json(
                ws, self._turn(s, words, end=False, formatted=False, final_words=len(words) - 1)
            )
            return
        await self.send_json(ws, self._turn(s, words, end=True, formatted=False, final_words=len(words)))
        if ws.query_params.get("format_turns") == "true":
            await self.send_json(ws, self._turn(s, words, end=True, formatted=True, final_words=len(words)))

    async def _end_pending_turn(self, ws: WebSocket, s: Session) -> None:
        words = self.take_pending(s)
        if words:
            await self.send_results(ws, s, words, final=True)
            s.results_sent += 1

    async def on_finalize(self, ws: WebSocket, s: Session) -> None:
        await self._end_pending_turn(ws, s)

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        await self._end_pending_turn(ws, s)
        seconds = s.audio_bytes / s.extra["bytes_per_ms"] / 1000
        await self.send_json(
            ws,
            {
                "type": "Termination",
                "audio_duration_seconds": round(seconds, 3),
                "session_duration_seconds": 1,
            },
        )
        await ws.close(1000)

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        code = 3007 if message.startswith("Input duration") else 3005
        await self._error(ws, code, message)

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await self.send_json(
            ws, {"type": "Termination", "audio_duration_seconds": 0, "session_duration_seconds": 1}
        )
        await ws.close(1000)

"""Fake Cartesia STT WebSocket (``/stt/websocket``), for tests without the network.

Checks the credential at the handshake like Cartesia (``Authorization: Bearer <key>``, the
older ``X-API-Key`` header or ``api_key`` query parameter; HTTP 401 otherwise), the API
version (``Cartesia-Version`` header or ``cartesia_version`` query) and the required
``model``, ``encoding``, ``sample_rate`` (HTTP 400 otherwise). Takes binary audio and the text
commands ``finalize`` (answered with ``flush_done``) and ``done`` (answered with ``done``, then
a normal close). Answers ``transcript`` messages: interim, then final with ``words``; texts
after the first are deltas with a leading space, as Cartesia sends them. The idle fault closes
with ``1001 Idle timeout``; ``vendor_error`` sends ``{"type": "error", "message", "code"}``.
"""

from __future__ import annotations

import uuid

from starlette.responses import Response
from starlette.websockets import WebSocket

from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeCartesia"]


class FakeCartesia(ScriptedSTTFake):
    """In-process Cartesia STT WebSocket (see the module docstring)."""

    vendor = "cartesia"
    path = "/stt/websocket"

    def check_handshake(self, ws: WebSocket) -> Response | None:
        h, q = ws.headers, ws.query_params
        scheme, _, bearer = h.get("authorization", "").partition(" ")
        keys = {bearer if scheme.lower() == "bearer" else None, h.get("x-api-key"), q.get("api_key")}
        if self.api_key not in keys:
            return self.deny(401, "Invalid API key")
        if not (h.get("cartesia-version") or q.get("cartesia_version")):
            return self.deny(400, "Cartesia-Version header or cartesia_version parameter required")
        missing = [p for p in ("model", "encoding", "sample_rate") if not q.get(p)]
        if missing:
            return self.deny(400, f"missing query parameters {missing}")
        return None

    async def on_open(self, ws: WebSocket, s: Session) -> None:
        s.extra["request_id"] = str(uuid.uuid4())

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, bytes):
            return ClientEvent("audio", data)
        if data == "finalize":
            return ClientEvent("finalize")
        if data == "done":
            return ClientEvent("finish")
        raise ProtocolViolation(f"unknown command {data[:40]!r}")

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        lead = " " if s.results_sent else ""
        msg: dict[str, object] = {
            "type": "transcript",
            "request_id": s.extra["request_id"],
            "text": lead + self.transcript(words),
            "is_final": final,
            "duration": round(words[-1].end - words[0].start, 3),
            "language": ws.query_params.get("language", "en"),
        }
        if final:
            msg["words"] = [{"word": w.text, "start": w.start, "end": w.end} for w in words]
        await self.send_json(ws, msg)

    async def on_finalize(self, ws: WebSocket, s: Session) -> None:
        words = self.take_pending(s)
        if words:
            await self.send_results(ws, s, words, final=True)
            s.results_sent += 1
        await self.send_json(ws, {"type": "flush_done", "request_id": s.extra["request_id"]})

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        await self.send_json(ws, {"type": "done", "request_id": s.extra["request_id"]})
        await ws.close(1000)

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        await self.send_json(
            ws, {"type": "error", "message": message, "code": 500, "request_id": s.extra.get("request_id")}
        )
        await ws.close(1011, "error")

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await ws.close(1001, "Idle timeout")

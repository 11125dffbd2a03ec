"""Fake ElevenLabs Scribe realtime STT (``/v1/speech-to-text/realtime``), without the network.

Checks the ``xi-api-key`` header (wrong key: an in-band ``auth_error`` message and a close,
since the check follows the upgrade), ``model_id`` and a supported ``audio_format``
(``input_error`` otherwise). Opens with ``session_started {session_id, config}``; takes only
JSON ``input_audio_chunk`` messages (base64 audio whose ``sample_rate`` must match the
format; a binary frame is an ``input_error``). Answers ``partial_transcript``, then
``committed_transcript`` and, with ``include_timestamps=true``,
``committed_transcript_with_timestamps`` (words with ``type``/``logprob`` and ``spacing``
entries between them). A commit (``commit: true``) commits pending audio. The idle fault sends
``insufficient_audio_activity`` and closes; ``vendor_error`` sends ``transcriber_error``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid

from starlette.websockets import WebSocket

from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeElevenLabs"]

_FORMATS = {f"pcm_{r}": r for r in (8000, 16000, 22050, 24000, 44100, 48000)} | {"ulaw_8000": 8000}


class FakeElevenLabs(ScriptedSTTFake):
    """In-process ElevenLabs realtime STT WebSocket (see the module docstring)."""

    vendor = "elevenlabs"
    path = "/v1/speech-to-text/realtime"
    auth_at_handshake = False

    def credentials_ok(self, ws: WebSocket) -> bool:
        return ws.headers.get("xi-api-key") == self.api_key

    async def _error(self, ws: WebSocket, kind: str, message: str, code: int = 1008) -> None:
        await self.send_json(ws, {"message_type": kind, "error": message})
        await ws.close(code, kind)

    async def reject_in_band(self, ws: WebSocket, s: Session) -> None:
        await self._error(ws, "auth_error", "Invalid API key")

    async def on_open(self, ws: WebSocket, s: Session) -> None:
        q = ws.query_params
        fmt = q.get("audio_format", "")
        if not q.get("model_id") or fmt not in _FORMATS:
            await self._error(ws, "input_error", f"invalid model_id or audio_format {fmt!r}")
            return
        s.extra["rate"] = _FORMATS[fmt]
        s.extra["id"] = uuid.uuid4().hex
        config = {
            "sample_rate": _FORMATS[fmt],
            "audio_format": fmt,
            "language_code": q.get("language_code"),
            "model_id": q.get("model_id"),
            "commit_strategy": q.get("commit_strategy", "manual"),
            "include_timestamps": q.get("include_timestamps") == "true",
        }
        await self.send_json(
            ws, {"message_type": "session_started", "session_id": s.extra["id"], "config": config}
        )

    async def _serve(self, ws: WebSocket, s: Session) -> None:
        if "id" in s.extra:
            await super()._serve(ws, s)

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, bytes):
            raise ProtocolViolation("binary frames are not accepted; send input_audio_chunk messages")
        msg = json.loads(data)
        if msg.get("message_type") != "input_audio_chunk":
            raise ProtocolViolation(f"unknown message_type {msg.get('message_type')!r}")
        if msg.get("sample_rate") not in (None, s.extra["rate"]):
            raise ProtocolViolation(f"sample_rate {msg.get('sample_rate')} does not match the audio_format")
        try:
            audio = base64.b64decode(msg.get("audio_base_64") or "", validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolViolation("audio_base_64 is not valid base64") from None
        if msg.get("commit"):
            return ClientEvent("finalize", audio)
        return ClientEvent("audio", audio)

    async def on_finalize(self, ws: WebSocket, s: Session) -> None:
        words = self.take_pending(s)
        if words:
            await self.send_results(ws, s, words, final=True)
            s.results_sent += 1
        else:  # nothing pending: an empty commit
            await self.send_results(ws, s, [], final=True)

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        """Partial, or committed (+ with timestamps); ``words=[]`` is an empty commit."""
        text = self.transcript(words)
        if not final:
            await self.send_json(ws, {"message_type": "partial_transcript", "text": text})
            return
        await self.send_json(ws, {"message_type": "committed_transcript", "text": text})
        if ws.query_params.get("include_timestamps") == "true":
            items: list[dict[str, object]] = []
            for k, w in enumerate(words):
                if k:
                    prev = words[k - 1]
                    items.append({"text": " ", "start": prev.end, "end": w.start, "type": "spacing"})
                items.append(
                    {
                        "text": w.text,
                        "start": w.start,
                        "end": w.end,
                        "type": "word",
                        "logprob": math.log(w.confidence),
                    }
                )
            await self.send_json(
                ws,
                {
                    "message_type": "committed_transcript_with_timestamps",
                    "text": text,
                    "language_code": ws.query_params.get("language_code", "en"),
                    "words": items,
                },
            )

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        kind = "input_error" if "input_audio_chunk" in message or "base64" in message else "transcriber_error"
        await self._error(ws, kind, message, code=1011)

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await self._error(ws, "insufficient_audio_activity", "no audio activity", code=1000)

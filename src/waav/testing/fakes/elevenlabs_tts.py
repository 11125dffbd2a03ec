"""Fake ElevenLabs text-to-speech: streaming REST, the stream-input WebSocket, ``/v2/voices``.

REST ``POST /v1/text-to-speech/{voice_id}[/stream]``: checks ``xi-api-key`` (401
``invalid_api_key`` in ElevenLabs' ``{"detail": {"status", "message"}}`` shape), a known
``output_format`` query value (422 otherwise), a JSON body with non-empty ``text``, and
``voice_settings`` values in range (stability/similarity_boost/style in 0–1, speed 0.7–1.2).
The body is the fake speech in the requested format (``pcm_<rate>``: raw PCM16; ``ulaw_8000``
/ ``alaw_8000``: G.711; ``mp3_*``: placeholder frames), streamed paced by ``chunk_delay``.

WebSocket ``/v1/text-to-speech/{voice_id}/stream-input?model_id=&output_format=
&inactivity_timeout=``: the first message must be ``{"text": " ", …}``; text is buffered and
synthesised when the buffer reaches the first ``chunk_length_schedule`` value (default 120),
on ``"flush": true``, or at end of input ``{"text": ""}``; whitespace-only messages are
keep-alives. Audio goes out as ``{"audio": <base64>, "isFinal": null, "normalizedAlignment",
"alignment": {"chars", "charStartTimesMs", "charDurationsMs"}}`` messages of
``chunk_bytes``, then ``{"isFinal": true}`` and a normal close. No text for
``faults.idle_close_after`` seconds (ElevenLabs: 20 s, or ``inactivity_timeout``) closes
the socket with 1008 like ElevenLabs; ``faults.drop_after`` audio messages close it with 1011.
``keepalives`` counts whitespace-only messages; ``ws_sessions`` the sockets opened.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from waav.testing.fakes._tts_kit import MS_PER_CHAR, TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakeElevenLabsTTS"]

_PCM = {8000, 16000, 22050, 24000, 44100, 48000}

VOICES = [
    {
        "voice_id": "JBFqnCBsd6RMkjVDRZzb",
        "name": "George",
        "category": "premade",
        "labels": {"accent": "british", "gender": "male", "age": "middle_aged", "language": "en"},
        "preview_url": "https://storage.googleapis.com/eleven-public-prod/premade/voices/george.mp3",
    },
    {
        "voice_id": "21m00Tcm4TlvDq8ikWAM",
        "name": "Rachel",
        "category": "premade",
        "labels": {"accent": "american", "gender": "female", "language": "en"},
        "preview_url": "https://storage.googleapis.com/eleven-public-prod/premade/voices/rachel.mp3",
    },
    {
        "voice_id": "pNInz6obpgDQGcFmaJgB",
        "name": "Adam",
        "category": "premade",
        "labels": {"accent": "american", "gender": "male"},
        "preview_url": None,
    },
]


def parse_output_format(fmt: str) -> tuple[str, int] | None:
    """(encoding, rate) of an ElevenLabs ``output_format`` value, None if unknown."""
    kind, _, rest = fmt.partition("_")
    rate_s = rest.split("_")[0]
    if not rate_s.isdigit():
        return None
    rate = int(rate_s)
    if kind == "pcm" and rate in _PCM:
        return "linear16", rate
    if kind in ("ulaw", "alaw") and rate == 8000:
        return ("mulaw" if kind == "ulaw" else "alaw"), 8000
    if kind == "mp3" and rate in (22050, 44100):
        return "mp3", rate
    return None


def _detail(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"status": code, "message": message}}, status_code=status)


class FakeElevenLabsTTS(TTSFakeServer):
    """In-process fake of ElevenLabs' TTS APIs (see the module docstring)."""

    vendor = "elevenlabs"

    def __init__(self, *, voices_page_size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.voices_page_size = voices_page_size

    @property
    def keepalives(self) -> int:
        return self.count("keepalives")

    @property
    def ws_sessions(self) -> int:
        return self.count("ws_sessions")

    def _auth(self, key: str | None) -> Response | None:
        if self.faults.reject_auth or key != self.api_key:
            return _detail(401, "invalid_api_key", "Invalid API key")
        return self.rate_limited(
            {"detail": {"status": "too_many_concurrent_requests", "message": "Too many concurrent requests"}}
        )

    def build_app(self) -> Starlette:
        async def tts(request: Request) -> Response:
            raw = await request.body()
            self.recorder.start(request, body=raw)
            denied = self._auth(request.headers.get("xi-api-key"))
            if denied is not None:
                return denied
            fmt = parse_output_format(request.query_params.get("output_format", "mp3_44100_128"))
            if fmt is None:
                return _detail(422, "invalid_output_format", "Unsupported output_format")
            try:
                body: dict[str, Any] = json.loads(raw)
            except ValueError:
                return _detail(400, "invalid_json", "Body is not JSON")
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                return _detail(422, "invalid_text", "text must be a non-empty string")
            problem = _check_settings(body.get("voice_settings") or {})
            if problem:
                return _detail(422, "invalid_voice_settings", problem)
            encoding, rate = fmt
            media = "audio/mpeg" if encoding == "mp3" else "application/octet-stream"
            return self.stream(encode_audio(synth_pcm16(text, rate), encoding, rate), media)

        async def voices(request: Request) -> Response:
            self.recorder.start(request)
            denied = self._auth(request.headers.get("xi-api-key"))
            if denied is not None:
                return denied
            start = int(request.query_params.get("next_page_token") or 0)
            size = min(int(request.query_params.get("page_size", 10)), self.voices_page_size)
            page = VOICES[start : start + size]
            more = start + size < len(VOICES)
            return JSONResponse(
                {
                    "voices": page,
                    "has_more": more,
                    "total_count": len(VOICES),
                    "next_page_token": str(start + size) if more else None,
                }
            )

        return Starlette(
            routes=[
                Route("/v1/text-to-speech/{voice_id}", tts, methods=["POST"]),
                Route("/v1/text-to-speech/{voice_id}/stream", tts, methods=["POST"]),
                Route("/v2/voices", voices, methods=["GET"]),
                WebSocketRoute("/v1/text-to-speech/{voice_id}/stream-input", self._stream_input),
            ]
        )

    async def _stream_input(self, ws: WebSocket) -> None:
        rec = self.recorder.start(ws)
        self._count("ws_sessions")
        denied = self._auth(ws.headers.get("xi-api-key"))
        fmt = parse_output_format(ws.query_params.get("output_format", "mp3_44100_128"))
        if denied is not None or fmt is None:
            await ws.send_denial_response(
                denied if denied is not None else _detail(422, "invalid_output_format", "?")
            )
            return
        await ws.accept()
        encoding, rate = fmt
        schedule = 120
        buffer = ""
        first = True
        sent_audio = 0
        final = False
        idle = self.faults.idle_close_after
        last = time.monotonic()

        async def generate(text: str) -> bool:
            """Send the audio of ``text``; False once the drop fault fired."""
            nonlocal sent_audio
            per_char = max(1, self.chunk_bytes // max(1, rate * MS_PER_CHAR // 1000 * 2))
            for i in range(0, len(text), per_char):
                if self.faults.drop_after is not None and sent_audio >= self.faults.drop_after:
                    await ws.close(code=1011, reason="internal error")
                    return False
                part = text[i : i + per_char]
                audio = encode_audio(synth_pcm16(part, rate), encoding, rate)
                starts = [k * MS_PER_CHAR for k in range(len(part))]
                align = {
                    "chars": list(part),
                    "charStartTimesMs": starts,
                    "charDurationsMs": [MS_PER_CHAR] * len(part),
                }
                await ws.send_text(
                    json.dumps(
                        {
                            "audio": base64.b64encode(audio).decode(),
                            "isFinal": None,
                            "normalizedAlignment": align,
                            "alignment": align,
                        }
                    )
                )
                sent_audio += 1
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
            return True

        try:
            while True:
                timeout = None if idle is None else max(0.0, idle - (time.monotonic() - last))
                try:
                    raw = await asyncio.wait_for(ws.receive_text(), timeout)
                except asyncio.TimeoutError:
                    await ws.close(code=1008, reason=f"Have not received new text for {idle:g} seconds.")
                    return
                last = time.monotonic()
                rec.messages.append(raw)
                msg = json.loads(raw)
                text = msg.get("text")
                if not isinstance(text, str):
                    await ws.send_text(
                        json.dumps({"message": "text is required", "error": "invalid_message"})
                    )
                    await ws.close(code=1008)
                    return
                if first:
                    first = False
                    if text != " ":
                        await ws.send_text(
                            json.dumps({"message": "first message must be ' '", "error": "invalid_message"})
                        )
                        await ws.close(code=1008)
                        return
                    sched = (msg.get("generation_config") or {}).get("chunk_length_schedule")
                    schedule = int(sched[0]) if sched else schedule
                    continue
                if text == "":  # end of input
                    if buffer and not await generate(buffer):
                        return
                    await ws.send_text(json.dumps({"isFinal": True}))
                    final = True
                    await ws.close(code=1000)
                    return
                if text.strip():
                    buffer += text
                else:
                    self._count("keepalives")
                if (msg.get("flush") or len(buffer) >= schedule) and buffer:
                    segment, buffer = buffer, ""
                    if not await generate(segment):
                        return
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self._count("completed" if final else "aborted")


def _check_settings(vs: dict[str, Any]) -> str | None:
    for key in ("stability", "similarity_boost", "style"):
        if key in vs and not 0.0 <= float(vs[key]) <= 1.0:
            return f"{key} must be in [0, 1]"
    if "speed" in vs and not 0.7 <= float(vs["speed"]) <= 1.2:
        return "speed must be in [0.7, 1.2]"
    return None

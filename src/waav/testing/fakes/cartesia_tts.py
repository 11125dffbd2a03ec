"""Fake Cartesia Sonic text-to-speech: ``POST /tts/bytes``, the ``/tts/websocket`` API, ``/voices``.

Both check what Cartesia checks: an API key (``Authorization: Bearer``, ``X-API-Key``, or
``?api_key=`` on the socket), a ``Cartesia-Version`` (header, or ``?cartesia_version=`` on
the socket) among the published versions, and a generation request with ``model_id``,
``transcript``, ``voice {mode: "id", id}`` and ``output_format`` (``container`` raw/wav/mp3;
raw and wav need ``encoding`` pcm_s16le/pcm_f32le/pcm_mulaw/pcm_alaw; ``sample_rate`` in
8000–48000), ``generation_config.speed`` 0.6–1.5 and ``volume`` 0.5–2.0. REST answers the
audio, streamed; errors are ``{"error": …}`` with 400/401/429.

The socket multiplexes contexts: each request is synthesised at once into ``chunk`` messages
(``{"type": "chunk", "data", "done": false, "status_code": 206, "step_time", "context_id"}``,
``chunk_bytes`` each, paced by ``chunk_delay``); a request with ``"continue": false`` ends
its context with ``{"type": "done", "done": true, …}``; ``{"context_id", "cancel": true}``
stops a context at once (counted in ``aborted``). Invalid requests get ``{"type": "error",
"done": true, "error", "status_code": 400, "context_id"}``. ``faults.idle_close_after``
closes an idle socket with 1001 "Idle timeout", like Cartesia; ``faults.drop_after`` closes
it with 1011 after that many chunks. ``ws_sessions`` counts sockets opened.

Context expiry (``context_expiry``, default 1.0 s): Cartesia documents that "contexts
automatically expire 1 second after the last audio output is streamed out" and that further
input on an expired context "is not supported", but not what it answers to such input. The
fake counts the expiry from the context's last chunk (a context that has produced no audio
yet does not expire), counts it in ``expired``, and answers each later input on that
``context_id`` with the documented WebSocket error event shape (``type: "error"``, ``done``,
``status_code`` 400, ``error_code``, ``title``, ``message``, ``request_id``, ``context_id``;
plus the older ``error`` string) — the status, code and wording are ours, not Cartesia's.
``None`` turns expiry off.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakeCartesiaTTS"]

VERSIONS = {"2024-06-10", "2024-11-13", "2025-04-16", "2026-03-01"}
_RATES = {8000, 16000, 22050, 24000, 44100, 48000}
_ENCODINGS = {"pcm_s16le": "linear16", "pcm_f32le": "float32", "pcm_mulaw": "mulaw", "pcm_alaw": "alaw"}

VOICES = [
    {"id": "6ccbfb76-1fc6-48f7-b71d-91ac6298247b", "name": "Tessa", "language": "en", "gender": "feminine",
     "description": "Warm conversational voice", "is_public": True},
    {"id": "a0e99841-438c-4a64-b679-ae501e7d6091", "name": "Barbershop Man", "language": "en",
     "gender": "masculine", "description": "Friendly", "is_public": True},
]  # fmt: skip


def validate(req: dict[str, Any]) -> tuple[str, str, int] | str:
    """(transcript, encoding, rate) of a generation request, or the error message."""
    for field in ("model_id", "transcript", "voice", "output_format"):
        if field not in req:
            return f"missing field {field}"
    voice = req["voice"]
    if not isinstance(voice, dict) or voice.get("mode") != "id" or not voice.get("id"):
        return "voice must be {mode: 'id', id}"
    fmt = req["output_format"]
    container, rate = fmt.get("container"), fmt.get("sample_rate")
    if container not in ("raw", "wav", "mp3") or rate not in _RATES:
        return "invalid output_format"
    if container == "mp3":
        encoding = "mp3"
    elif fmt.get("encoding") in _ENCODINGS:
        encoding = _ENCODINGS[fmt["encoding"]]
    else:
        return "output_format.encoding is required for raw and wav"
    gen = req.get("generation_config") or {}
    if "speed" in gen and not 0.6 <= float(gen["speed"]) <= 1.5:
        return "generation_config.speed must be in [0.6, 1.5]"
    if "volume" in gen and not 0.5 <= float(gen["volume"]) <= 2.0:
        return "generation_config.volume must be in [0.5, 2.0]"
    if not isinstance(req["transcript"], str):
        return "transcript must be a string"
    return req["transcript"], encoding if container != "wav" else f"wav:{encoding}", rate


def error_event(ctx: str, message: str, *, title: str, code: str | None, status: int = 400) -> dict[str, Any]:
    """Cartesia's WebSocket error event (both the structured fields of ``2026-03-01`` and the
    older ``error`` string)."""
    return {
        "type": "error",
        "done": True,
        "status_code": status,
        "error_code": code,
        "title": title,
        "message": message,
        "error": message,
        "request_id": str(uuid.uuid4()),
        "context_id": ctx,
    }


def _audio(text: str, encoding: str, rate: int) -> bytes:
    if encoding.startswith("wav:"):
        return encode_audio(synth_pcm16(text, rate), encoding[4:], rate, container="wav")
    return encode_audio(synth_pcm16(text, rate), encoding, rate)


class FakeCartesiaTTS(TTSFakeServer):
    """In-process fake of Cartesia's TTS APIs (see the module docstring)."""

    vendor = "cartesia"

    def __init__(self, *, context_expiry: float | None = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context_expiry = context_expiry

    @property
    def expired(self) -> int:
        """Contexts that expired (idle longer than ``context_expiry`` after their last audio)."""
        return self.count("expired")

    @property
    def ws_sessions(self) -> int:
        return self.count("ws_sessions")

    def _check(self, key: str | None, version: str | None) -> Response | None:
        if self.faults.reject_auth or key != self.api_key:
            return JSONResponse({"error": "Invalid API key"}, status_code=401)
        if version not in VERSIONS:
            return JSONResponse({"error": "Cartesia-Version header is required"}, status_code=400)
        return self.rate_limited({"error": "Rate limit exceeded"})

    @staticmethod
    def _key(headers: Any, query: Any) -> str | None:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return str(auth[7:])
        key = headers.get("x-api-key") or query.get("api_key")
        return None if key is None else str(key)

    def build_app(self) -> Starlette:
        async def tts_bytes(request: Request) -> Response:
            raw = await request.body()
            self.recorder.start(request, body=raw)
            denied = self._check(self._key(request.headers, {}), request.headers.get("cartesia-version"))
            if denied is not None:
                return denied
            try:
                checked = validate(json.loads(raw))
            except (ValueError, AttributeError, TypeError):
                checked = "invalid JSON body"
            if isinstance(checked, str):
                return JSONResponse({"error": checked}, status_code=400)
            text, encoding, rate = checked
            if not text.strip():
                return JSONResponse({"error": "transcript must not be empty"}, status_code=400)
            media = (
                "audio/mpeg"
                if encoding == "mp3"
                else "audio/wav"
                if encoding.startswith("wav:")
                else "audio/pcm"
            )
            return self.stream(_audio(text, encoding, rate), media)

        async def voices(request: Request) -> Response:
            self.recorder.start(request)
            denied = self._check(self._key(request.headers, {}), request.headers.get("cartesia-version"))
            if denied is not None:
                return denied
            after = request.query_params.get("starting_after")
            start = next((i + 1 for i, v in enumerate(VOICES) if v["id"] == after), 0)
            page = VOICES[start : start + 1]
            more = start + 1 < len(VOICES)
            return JSONResponse(
                {"data": page, "has_more": more, "next_page": page[-1]["id"] if more else None}
            )

        return Starlette(
            routes=[
                Route("/tts/bytes", tts_bytes, methods=["POST"]),
                Route("/voices", voices, methods=["GET"]),
                WebSocketRoute("/tts/websocket", self._websocket),
            ]
        )

    async def _websocket(self, ws: WebSocket) -> None:
        rec = self.recorder.start(ws)
        self._count("ws_sessions")
        version = ws.headers.get("cartesia-version") or ws.query_params.get("cartesia_version")
        denied = self._check(self._key(ws.headers, ws.query_params), version)
        if denied is not None:
            await ws.send_denial_response(denied)
            return
        await ws.accept()
        lock = asyncio.Lock()
        tasks: dict[str, asyncio.Task[None]] = {}
        queues: dict[str, asyncio.Queue[tuple[str, bool] | None]] = {}
        sent_chunks = 0

        async def send(msg: dict[str, Any]) -> None:
            async with lock:
                await ws.send_text(json.dumps(msg))

        expired: set[str] = set()

        async def run_context(ctx: str, encoding: str, rate: int) -> None:
            nonlocal sent_chunks
            queue = queues[ctx]
            spoke = False  # the expiry clock starts at the first audio output
            try:
                while True:
                    try:
                        wait = self.context_expiry if spoke else None
                        item = await asyncio.wait_for(queue.get(), wait)
                    except asyncio.TimeoutError:
                        expired.add(ctx)
                        self._count("expired")
                        return
                    if item is None:
                        return
                    text, more = item
                    audio = _audio(text, encoding, rate) if text else b""
                    for i in range(0, len(audio), self.chunk_bytes):
                        if self.faults.drop_after is not None and sent_chunks >= self.faults.drop_after:
                            await ws.close(code=1011, reason="internal error")
                            return
                        data = base64.b64encode(audio[i : i + self.chunk_bytes]).decode()
                        await send({"type": "chunk", "data": data, "done": False, "status_code": 206,
                                    "step_time": 1.0, "context_id": ctx})  # fmt: skip
                        sent_chunks += 1
                        spoke = True
                        if self.chunk_delay:
                            await asyncio.sleep(self.chunk_delay)
                    if not more:
                        await send({"type": "done", "done": True, "status_code": 206, "context_id": ctx})
                        self._count("completed")
                        return
            except asyncio.CancelledError:
                self._count("aborted")
                raise
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._count("aborted")

        idle = self.faults.idle_close_after
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.receive_text(), idle)
                except asyncio.TimeoutError:
                    await ws.close(code=1001, reason="Idle timeout")
                    return
                rec.messages.append(raw)
                req = json.loads(raw)
                ctx = str(req.get("context_id") or "")
                if req.get("cancel"):
                    task = tasks.get(ctx)
                    if task is not None and not task.done():
                        task.cancel()
                    continue
                if ctx in expired:
                    msg = f"Context {ctx} has expired; start a new context"
                    await send(error_event(ctx, msg, title="Context expired", code="context_expired"))
                    continue
                checked = validate(req)
                if isinstance(checked, str):
                    await send(error_event(ctx, checked, title="Invalid request", code=None))
                    continue
                text, encoding, rate = checked
                if ctx not in tasks or tasks[ctx].done():
                    queues[ctx] = asyncio.Queue()
                    tasks[ctx] = asyncio.create_task(run_context(ctx, encoding, rate))
                queues[ctx].put_nowait((text, bool(req.get("continue", False))))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for task in tasks.values():
                task.cancel()

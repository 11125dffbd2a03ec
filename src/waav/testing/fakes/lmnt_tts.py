"""Fake LMNT text-to-speech: ``POST /v1/ai/speech/bytes`` and ``GET /v1/ai/voice/list``.

Checks what LMNT checks: the ``X-API-Key`` header (401 ``{"error": …}`` otherwise), a JSON
body with a non-empty ``text`` of at most 5000 characters and a known ``voice`` (400
``Invalid voice``), ``model`` ``blizzard``, a known ``format`` (``pcm_s16le``, ``pcm_f32le``,
``ulaw``, ``wav``, ``mp3``, ``webm``, ``aac``) and ``sample_rate`` 8000/16000/24000 (default
24000, µ-law 8000). Streams the fake speech (:func:`synth_pcm16`) in that format — ``ulaw``
and ``wav`` with a WAV header, as LMNT documents — paced by ``chunk_delay``. Honours
``reject_auth``, ``rate_limit_retry_after``, ``first_result_delay`` and ``drop_after``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer, json_fields

__all__ = ["FakeLmntTTS"]

#: Voices the fake knows (shape of LMNT's voice objects).
VOICES: list[dict[str, Any]] = [
    {
        "id": "leah",
        "name": "Leah",
        "owner": "system",
        "state": "ready",
        "gender": "F",
        "description": "Warm and friendly.",
        "preview_url": "https://api.lmnt.com/v1/ai/voice/leah/preview",
        "starred": False,
        "tags": ["conversational"],
        "type": "instant",
    },
    {
        "id": "morgan",
        "name": "Morgan",
        "owner": "system",
        "state": "ready",
        "gender": "M",
        "description": "Calm narrator.",
        "preview_url": None,
        "starred": False,
        "tags": [],
        "type": "instant",
    },
]
#: format → (waav encoding, container, media type)
FORMATS = {
    "pcm_s16le": ("linear16", "none", "application/octet-stream"),
    "pcm_f32le": ("float32", "none", "application/octet-stream"),
    "ulaw": ("mulaw", "wav", "audio/wav"),
    "wav": ("linear16", "wav", "audio/wav"),
    "mp3": ("mp3", "none", "audio/mpeg"),
    "webm": ("webm", "none", "audio/webm"),
    "aac": ("aac", "none", "audio/aac"),
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class FakeLmntTTS(TTSFakeServer):
    """In-process fake of LMNT's speech REST API (see the module docstring)."""

    vendor = "lmnt"

    def _auth(self, request: Request) -> Response | None:
        if self.faults.reject_auth or request.headers.get("x-api-key") != self.api_key:
            return _error(401, "Unauthorized: invalid API key")
        return self.rate_limited({"error": "Too many requests"})

    def build_app(self) -> Starlette:
        async def speech(request: Request) -> Response:
            raw, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            parsed = json_fields(raw, "text", "voice")
            if parsed is None:
                return _error(400, "text and voice are required")
            body, (text, voice) = parsed
            if not isinstance(text, str) or not text.strip() or len(text) > 5000:
                return _error(400, "text must be 1 to 5000 characters")
            if voice not in {v["id"] for v in VOICES}:
                return _error(400, f"Invalid voice: {voice}")
            if body.get("model", "blizzard") != "blizzard":
                return _error(400, f"Invalid model: {body.get('model')}")
            fmt = body.get("format", "mp3")
            if fmt not in FORMATS:
                return _error(400, f"Invalid format: {fmt}")
            rate = int(body.get("sample_rate") or (8000 if fmt == "ulaw" else 24000))
            if rate not in (8000, 16000, 24000):
                return _error(400, f"Invalid sample_rate: {rate}")
            return self.stream_speech(text, rate, *FORMATS[fmt])

        return Starlette(
            routes=[
                Route("/v1/ai/speech/bytes", speech, methods=["POST"]),
                Route("/v1/ai/voice/list", self.listing(VOICES, self._auth), methods=["GET"]),
            ]
        )

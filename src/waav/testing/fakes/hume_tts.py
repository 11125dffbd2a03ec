"""Fake Hume Octave text-to-speech: ``POST /v0/tts/stream/file`` and ``GET /v0/tts/voices``.

Checks what Hume checks: ``X-Hume-Api-Key`` (401 with Hume's gateway ``fault`` document
otherwise), a JSON body with 1–… ``utterances`` whose ``text`` is non-empty (at most 5000
characters), a ``format.type`` of ``pcm``, ``wav`` or ``mp3``, and — Hume's instant-mode rule —
a ``voice`` on the utterances when ``instant_mode`` is true (400 otherwise); ``speed`` within
0.5–2. Audio is the fake speech at Hume's fixed 48 kHz (``pcm``: raw PCM16; ``wav``: with a
header; ``mp3``: placeholder frames), streamed paced by ``chunk_delay``, shared faults applied.
Voices are paginated (``page_number``, ``page_size``, ``total_pages``, ``voices_page``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer

__all__ = ["FakeHumeTTS"]

RATE = 48000
FORMATS = {
    "pcm": ("linear16", "none", "audio/pcm"),
    "wav": ("linear16", "wav", "audio/wav"),
    "mp3": ("mp3", "none", "audio/mpeg"),
}
#: The Voice Library voices the fake lists.
VOICES: list[dict[str, Any]] = [
    {"id": "5bb7de05-c8fe-426a-8fcc-ba4fc4ce9f9c", "name": "Ava Song", "provider": "HUME_AI"},
    {"id": "9e068547-5ba4-4c8e-8e03-69282a008f04", "name": "Male English Actor", "provider": "HUME_AI"},
    {"id": "176a55b1-4468-4736-8878-db82729667c1", "name": "Campfire Narrator", "provider": "HUME_AI"},
]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message}, status_code=status)


class FakeHumeTTS(TTSFakeServer):
    """In-process fake of Hume's TTS REST API (see the module docstring)."""

    vendor = "hume"

    def __init__(self, *, voices_page_size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Largest page the fake serves (small, so clients must follow ``total_pages``).
        self.voices_page_size = voices_page_size

    def _auth(self, request: Request) -> Response | None:
        if self.faults.reject_auth or request.headers.get("x-hume-api-key") != self.api_key:
            return JSONResponse(
                {
                    "fault": {
                        "faultstring": "Invalid ApiKey",
                        "detail": {"errorcode": "oauth.v2.InvalidApiKey"},
                    }
                },
                status_code=401,
            )
        return self.rate_limited({"status": "error", "message": "Too many requests"})

    def build_app(self) -> Starlette:
        async def stream_file(request: Request) -> Response:
            raw, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            try:
                body: dict[str, Any] = json.loads(raw)
                utterances = body["utterances"]
                texts = [u["text"] for u in utterances]
            except (ValueError, KeyError, TypeError):
                return _error(400, "utterances with text are required")
            if not texts or not all(isinstance(t, str) and t.strip() and len(t) <= 5000 for t in texts):
                return _error(400, "each utterance needs 1 to 5000 characters of text")
            fmt = (body.get("format") or {"type": "mp3"}).get("type")
            if fmt not in FORMATS:
                return _error(400, f"unknown format type {fmt!r}")
            if body.get("instant_mode", True) and not all(u.get("voice") for u in utterances):
                return _error(400, "instant_mode requires a voice to be specified")
            if not all(0.5 <= float(u.get("speed", 1)) <= 2 for u in utterances):
                return _error(400, "speed must be within 0.5-2")
            return self.stream_speech("".join(texts), RATE, *FORMATS[fmt])

        async def voices(request: Request) -> Response:
            _, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            q = request.query_params
            if q.get("provider") not in ("HUME_AI", "CUSTOM_VOICE"):
                return _error(400, "provider must be HUME_AI or CUSTOM_VOICE")
            found = [v for v in VOICES if v["provider"] == q["provider"]]
            size = min(int(q.get("page_size", 10)), self.voices_page_size)
            number = int(q.get("page_number", 0))
            pages = (len(found) + size - 1) // size
            page = found[number * size : (number + 1) * size]
            return JSONResponse(
                {"page_number": number, "page_size": size, "total_pages": pages, "voices_page": page}
            )

        return Starlette(
            routes=[
                Route("/v0/tts/stream/file", stream_file, methods=["POST"]),
                Route("/v0/tts/voices", voices, methods=["GET"]),
            ]
        )

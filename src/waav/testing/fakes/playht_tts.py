"""Fake PlayHT text-to-speech: ``POST /api/v2/tts/stream`` and ``GET /api/v2/voices``.

Checks what PlayHT checks: both ``X-USER-ID`` and ``AUTHORIZATION`` (401 ``{"error_message",
"error_id": "UNAUTHORIZED"}`` otherwise), an audio ``accept`` header (``application/json``
gets PlayHT's 201 link document, which is not audio), a JSON body with non-empty ``text``
(at most 20000 characters for ``Play3.0-mini``, 2000 otherwise) and ``voice``, a known
``voice_engine``, ``output_format`` (raw, mulaw, wav, mp3, ogg, flac; default mp3),
``sample_rate`` 8000–48000, ``speed`` 0.1–5, and ``emotion`` only with a PlayHT2.0 engine.
Streams the fake speech in that format (``raw``: PCM16 LE; ``mulaw``: raw µ-law; ``wav``:
with a header) paced by ``chunk_delay``, with the shared faults.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer, json_fields

__all__ = ["FakePlayHTTTS"]

ENGINES = {"Play3.0-mini", "PlayDialog", "PlayDialog-turbo", "PlayHT2.0", "PlayHT2.0-turbo", "PlayHT1.0"}
FORMATS = {
    "raw": ("linear16", "none", "audio/basic"),
    "mulaw": ("mulaw", "none", "audio/basic"),
    "wav": ("linear16", "wav", "audio/wav"),
    "mp3": ("mp3", "none", "audio/mpeg"),
    "ogg": ("ogg", "none", "audio/ogg"),
    "flac": ("flac", "none", "audio/flac"),
}
#: The voices the fake lists (shape of PlayHT's ``/api/v2/voices`` entries).
VOICES: list[dict[str, Any]] = [
    {
        "id": "s3://voice-cloning-zero-shot/d9ff78ba-d016-47f6-b0ef-dd630f59414e/female-cs/manifest.json",
        "name": "Jennifer",
        "sample": "https://peregrine-samples.s3.amazonaws.com/parrot-samples/jennifer.wav",
        "accent": "american",
        "age": "adult",
        "gender": "female",
        "language": "English (US)",
        "language_code": "en-US",
        "loudness": "neutral",
        "style": "narrative",
        "tempo": "neutral",
        "texture": "smooth",
        "is_cloned": False,
        "voice_engine": "PlayHT2.0",
    },
    {
        "id": "s3://voice-cloning-zero-shot/9fc626dc-f6df-4f47-a112-39461e8066aa/oliver/manifest.json",
        "name": "Oliver",
        "sample": None,
        "accent": "british",
        "age": "adult",
        "gender": "male",
        "language": "English (GB)",
        "language_code": "en-GB",
        "is_cloned": False,
        "voice_engine": "Play3.0-mini",
    },
]


def _error(status: int, message: str, error_id: str) -> JSONResponse:
    return JSONResponse({"error_message": message, "error_id": error_id}, status_code=status)


class FakePlayHTTTS(TTSFakeServer):
    """In-process fake of PlayHT's streaming TTS API (see the module docstring)."""

    vendor = "playht"

    def __init__(self, *, user_id: str = "test-user", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user_id = user_id

    def _auth(self, request: Request) -> Response | None:
        ok = (
            request.headers.get("x-user-id") == self.user_id
            and request.headers.get("authorization") == self.api_key
        )
        if self.faults.reject_auth or not ok:
            return _error(401, "Invalid credentials: check your user id and API key.", "UNAUTHORIZED")
        return self.rate_limited({"error_message": "Rate limit exceeded.", "error_id": "RATE_LIMITED"})

    def build_app(self) -> Starlette:
        async def stream(request: Request) -> Response:
            raw, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            parsed = json_fields(raw, "text", "voice")
            if parsed is None:
                return _error(400, "text and voice are required.", "VALIDATION_ERROR")
            body, (text, _voice) = parsed
            engine = body.get("voice_engine", "PlayHT2.0")
            limit = 20000 if engine == "Play3.0-mini" else 2000
            if not isinstance(text, str) or not text.strip() or len(text) > limit:
                return _error(400, f"text must be 1 to {limit} characters.", "VALIDATION_ERROR")
            if engine not in ENGINES:
                return _error(400, f"Unknown voice_engine {engine!r}.", "VALIDATION_ERROR")
            fmt = body.get("output_format", "mp3")
            if fmt not in FORMATS:
                return _error(400, f"Unknown output_format {fmt!r}.", "VALIDATION_ERROR")
            rate = int(body.get("sample_rate") or 24000)
            if not 8000 <= rate <= 48000:
                return _error(400, "sample_rate must be within 8000-48000.", "VALIDATION_ERROR")
            if not 0.1 <= float(body.get("speed", 1)) <= 5:
                return _error(400, "speed must be within 0.1-5.", "VALIDATION_ERROR")
            if "emotion" in body and not engine.startswith("PlayHT2.0"):
                return _error(400, "emotion is only supported by PlayHT2.0 engines.", "VALIDATION_ERROR")
            if "application/json" in request.headers.get("accept", ""):
                return JSONResponse({"href": "https://api.play.ht/api/v2/tts/fake", "method": "GET"}, 201)
            return self.stream_speech(text, rate, *FORMATS[fmt])

        return Starlette(
            routes=[
                Route("/api/v2/tts/stream", stream, methods=["POST"]),
                Route("/api/v2/voices", self.listing(VOICES, self._auth), methods=["GET"]),
            ]
        )

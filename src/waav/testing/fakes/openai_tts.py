"""Fake OpenAI text-to-speech: ``POST /v1/audio/speech``.

Checks what OpenAI checks: ``Authorization: Bearer <key>`` (401 ``invalid_api_key``), a
known ``model`` (``tts-1``, ``tts-1-hd``, ``gpt-4o-mini-tts``), ``input`` non-empty and at
most 4096 characters, a built-in ``voice``, ``response_format`` in mp3/opus/aac/flac/wav/pcm
(default mp3), ``speed`` in 0.25–4.0, and ``instructions`` only with ``gpt-4o-mini-tts``.
Errors use OpenAI's ``{"error": {"message", "type", "param", "code"}}`` shape. Audio is the
fake speech at 24 kHz (``pcm``: raw PCM16; ``wav``: with a header; compressed: placeholder
frames), streamed paced by ``chunk_delay``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakeOpenAITTS"]

MODELS = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"}
VOICES = set(
    [
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    ]
)
FORMATS = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def _error(
    status: int, message: str, type_: str, param: str | None = None, code: str | None = None
) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}, status_code=status
    )


class FakeOpenAITTS(TTSFakeServer):
    """In-process fake of OpenAI's speech endpoint (see the module docstring)."""

    vendor = "openai"

    def build_app(self) -> Starlette:
        async def speech(request: Request) -> Response:
            raw = await request.body()
            self.recorder.start(request, body=raw)
            if self.faults.reject_auth or request.headers.get("authorization") != f"Bearer {self.api_key}":
                return _error(
                    401, "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key"
                )
            limited = self.rate_limited(
                {"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": None}}
            )
            if limited is not None:
                return limited
            try:
                body: dict[str, Any] = json.loads(raw)
            except ValueError:
                return _error(
                    400, "We could not parse the JSON body of your request.", "invalid_request_error"
                )
            for field in ("model", "input", "voice"):
                if field not in body:
                    return _error(
                        400, f"Missing required parameter: '{field}'.", "invalid_request_error", field
                    )
            if body["model"] not in MODELS:
                return _error(404, f"The model `{body['model']}` does not exist.", "invalid_request_error")
            text = body["input"]
            if not isinstance(text, str) or not text or len(text) > 4096:
                return _error(400, "input must be 1 to 4096 characters.", "invalid_request_error", "input")
            if body["voice"] not in VOICES:
                return _error(400, f"Invalid voice {body['voice']!r}.", "invalid_request_error", "voice")
            fmt = body.get("response_format", "mp3")
            if fmt not in FORMATS:
                return _error(
                    400, f"Invalid response_format {fmt!r}.", "invalid_request_error", "response_format"
                )
            speed = body.get("speed", 1.0)
            if not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
                return _error(400, "speed must be between 0.25 and 4.0.", "invalid_request_error", "speed")
            if "instructions" in body and body["model"] != "gpt-4o-mini-tts":
                return _error(
                    400,
                    "instructions are not supported with this model.",
                    "invalid_request_error",
                    "instructions",
                )
            pcm = synth_pcm16(text, 24000)
            if fmt == "pcm":
                data = pcm
            elif fmt == "wav":
                data = encode_audio(pcm, "linear16", 24000, container="wav")
            else:
                data = encode_audio(pcm, fmt, 24000)
            return self.stream(data, FORMATS[fmt])

        return Starlette(routes=[Route("/v1/audio/speech", speech, methods=["POST"])])

"""Fake Deepgram Aura text-to-speech: ``POST /v1/speak`` and ``GET /v1/models``.

Checks what Deepgram checks: ``Authorization: Token <key>`` (401 ``INVALID_AUTH``
otherwise), a JSON body with a non-empty ``text`` of at most 2000 characters, a known
``encoding`` with a ``sample_rate`` and ``container`` that Deepgram allows for it (400
``UNSUPPORTED_AUDIO_FORMAT`` otherwise). Streams the fake speech (see
:mod:`waav.testing.fakes._tts_kit`) in the requested encoding, in a WAV container when
``container`` is ``wav`` or omitted for PCM (Deepgram's REST default), paced by
``chunk_delay``. Honours ``reject_auth``, ``rate_limit_retry_after``, ``first_result_delay``
and ``drop_after``.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakeDeepgramTTS"]

_RATES = {
    "linear16": {8000, 16000, 24000, 32000, 48000},
    "mulaw": {8000, 16000},
    "alaw": {8000, 16000},
    "flac": {8000, 16000, 22050, 32000, 48000},
}
_FIXED = {"mp3": 22050, "opus": 48000, "aac": 22050}
_CONTAINERS = {
    "linear16": {"none", "wav"},
    "mulaw": {"none", "wav"},
    "alaw": {"none", "wav"},
    "opus": {"ogg"},
}
_MEDIA = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "aac": "audio/aac"}

#: The models the fake lists (shape of Deepgram's ``GET /v1/models`` ``tts`` entries).
MODELS = [
    {
        "name": "thalia",
        "canonical_name": "aura-2-thalia-en",
        "architecture": "aura-2",
        "languages": ["en", "en-US"],
        "version": "2025-04-07.0",
        "uuid": "ecb76e9d-f2db-4127-8060-79b05590d22f",
        "metadata": {
            "accent": "American",
            "age": "Adult",
            "color": "#3095FF",
            "image": "https://static.deepgram.com/examples/avatars/thalia.jpg",
            "sample": "https://static.deepgram.com/examples/Aura-2-thalia.wav",
            "tags": ["feminine", "engaging"],
            "use_cases": ["casual chat"],
        },
    },
    {
        "name": "orion",
        "canonical_name": "aura-orion-en",
        "architecture": "aura",
        "languages": ["en", "en-US"],
        "version": "2024-10-31.0",
        "uuid": "a4e6b46a-1b4b-4ce1-8a4b-2a6c5c1c4b2a",
        "metadata": {"accent": "American", "sample": None, "tags": ["masculine"]},
    },
]


def _error(status: int, code: str, msg: str) -> JSONResponse:
    return JSONResponse(
        {"err_code": code, "err_msg": msg, "request_id": "00000000-0000-0000-0000-000000000000"},
        status_code=status,
    )


class FakeDeepgramTTS(TTSFakeServer):
    """In-process fake of Deepgram's TTS REST API (see the module docstring)."""

    vendor = "deepgram"

    def _auth(self, request: Request) -> Response | None:
        if self.faults.reject_auth or request.headers.get("authorization") != f"Token {self.api_key}":
            return _error(401, "INVALID_AUTH", "Invalid credentials.")
        return self.rate_limited({"err_code": "TOO_MANY_REQUESTS", "err_msg": "Too many requests."})

    def build_app(self) -> Starlette:
        async def speak(request: Request) -> Response:
            body = await request.body()
            self.recorder.start(request, body=body)
            denied = self._auth(request)
            if denied is not None:
                return denied
            try:
                text = json.loads(body)["text"]
            except (ValueError, KeyError, TypeError):
                return _error(400, "INVALID_QUERY_PARAMETER", "Body must be JSON with a 'text' field.")
            if not isinstance(text, str) or not text.strip():
                return _error(400, "INVALID_TEXT", "Text must not be empty.")
            if len(text) > 2000:
                return _error(413, "PAYLOAD_TOO_LARGE", "Text exceeds 2000 characters.")
            q = request.query_params
            encoding = q.get("encoding", "linear16")
            if encoding in _RATES:
                rate = int(q.get("sample_rate", 24000 if encoding in ("linear16", "flac") else 8000))
                if rate not in _RATES[encoding]:
                    return _error(
                        400, "UNSUPPORTED_AUDIO_FORMAT", f"sample_rate {rate} not valid for {encoding}"
                    )
            elif encoding in _FIXED:
                rate = _FIXED[encoding]
                if "sample_rate" in q:
                    return _error(
                        400, "UNSUPPORTED_AUDIO_FORMAT", f"sample_rate is not settable for {encoding}"
                    )
            else:
                return _error(400, "UNSUPPORTED_AUDIO_FORMAT", f"unknown encoding {encoding!r}")
            default_container = "wav" if encoding in ("linear16", "mulaw", "alaw") else None
            container = q.get("container", default_container)
            allowed = _CONTAINERS.get(encoding)
            if container is not None and (allowed is None or container not in allowed):
                return _error(
                    400, "UNSUPPORTED_AUDIO_FORMAT", f"container {container} not valid for {encoding}"
                )
            pcm = synth_pcm16(text, rate)
            data = encode_audio(pcm, encoding, rate, container=container or "none")
            media = _MEDIA.get(encoding, "audio/wav" if container == "wav" else "application/octet-stream")
            return self.stream(data, media, headers={"dg-model-name": q.get("model", "aura-asteria-en")})

        async def models(request: Request) -> Response:
            self.recorder.start(request)
            denied = self._auth(request)
            if denied is not None:
                return denied
            return JSONResponse({"stt": [], "tts": MODELS})

        return Starlette(
            routes=[Route("/v1/speak", speak, methods=["POST"]), Route("/v1/models", models, methods=["GET"])]
        )

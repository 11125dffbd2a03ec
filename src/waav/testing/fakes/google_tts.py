"""Fake Google Cloud Text-to-Speech v1: ``POST /v1/text:synthesize`` and ``GET /v1/voices``.

Accepts an API key (``X-Goog-Api-Key`` header or ``?key=``) equal to ``api_key``, or
``Authorization: Bearer <access_token>``; anything else is Google's 401/403 error JSON.
Checks the body as Google does: exactly one of ``input.text`` / ``input.ssml`` (at most 5000
bytes), ``voice.languageCode``, an ``audioConfig.audioEncoding`` of LINEAR16, MULAW, ALAW,
MP3 or OGG_OPUS, ``speakingRate`` 0.25–4 (400 ``INVALID_ARGUMENT`` otherwise). The answer is
Google's JSON ``{"audioContent": "<base64>"}`` — LINEAR16/MULAW/ALAW with a WAV header, at
``sampleRateHertz`` (default 24000) — streamed in ``chunk_bytes`` pieces paced by
``chunk_delay``, so a client can decode it before the document is complete.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, json_fields, synth_pcm16

__all__ = ["FakeGoogleTTS"]

_ENCODINGS = {"LINEAR16": "linear16", "MULAW": "mulaw", "ALAW": "alaw", "MP3": "mp3", "OGG_OPUS": "opus"}

VOICES: list[dict[str, Any]] = [
    {
        "languageCodes": ["en-US"],
        "name": "en-US-Neural2-F",
        "ssmlGender": "FEMALE",
        "naturalSampleRateHertz": 24000,
    },
    {
        "languageCodes": ["en-GB"],
        "name": "en-GB-Wavenet-B",
        "ssmlGender": "MALE",
        "naturalSampleRateHertz": 24000,
    },
    {
        "languageCodes": ["de-DE"],
        "name": "de-DE-Standard-A",
        "ssmlGender": "FEMALE",
        "naturalSampleRateHertz": 24000,
    },
]


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": code}}, status_code=status)


class FakeGoogleTTS(TTSFakeServer):
    """In-process fake of Google's TTS REST API (see the module docstring)."""

    vendor = "google"

    def __init__(self, *, access_token: str = "test-token", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.access_token = access_token

    def _auth(self, request: Request) -> Response | None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        bearer = request.headers.get("authorization")
        ok = key == self.api_key or bearer == f"Bearer {self.access_token}"
        if self.faults.reject_auth or not ok:
            if key is None and bearer is None:
                return _error(403, "Method doesn't allow unregistered callers.", "PERMISSION_DENIED")
            return _error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        return self.rate_limited(
            {"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}}
        )

    def build_app(self) -> Starlette:
        async def synthesize(request: Request) -> Response:
            raw, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            parsed = json_fields(raw, "input", "voice", "audioConfig")
            if parsed is None:
                return _error(400, "input, voice and audioConfig are required.", "INVALID_ARGUMENT")
            inp, voice, cfg = parsed[1]
            if len([k for k in ("text", "ssml") if k in inp]) != 1:
                return _error(400, "Exactly one of input.text or input.ssml must be set.", "INVALID_ARGUMENT")
            text = inp.get("text") or inp.get("ssml") or ""
            if not text or len(text.encode()) > 5000:
                return _error(400, "Input text must be 1 to 5000 bytes.", "INVALID_ARGUMENT")
            if not voice.get("languageCode"):
                return _error(400, "Voice languageCode is required.", "INVALID_ARGUMENT")
            encoding = _ENCODINGS.get(cfg.get("audioEncoding", ""))
            if encoding is None:
                return _error(400, "Unsupported audioEncoding.", "INVALID_ARGUMENT")
            if not 0.25 <= float(cfg.get("speakingRate", 1.0)) <= 4.0:
                return _error(400, "speakingRate must be in [0.25, 4.0].", "INVALID_ARGUMENT")
            rate = int(cfg.get("sampleRateHertz") or 24000)
            pcm = synth_pcm16(text, rate)
            container = "wav" if encoding in ("linear16", "mulaw", "alaw") else "none"
            audio = encode_audio(pcm, encoding, rate, container=container)
            doc = '{\n  "audioContent": "' + base64.b64encode(audio).decode() + '"\n}\n'
            return self.stream(doc.encode(), "application/json; charset=UTF-8")

        async def voices(request: Request) -> Response:
            _, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            lang = request.query_params.get("languageCode")
            found = [v for v in VOICES if lang is None or any(c.startswith(lang) for c in v["languageCodes"])]
            return JSONResponse({"voices": found})

        return Starlette(
            routes=[
                Route("/v1/text:synthesize", synthesize, methods=["POST"]),
                Route("/v1/voices", voices, methods=["GET"]),
            ]
        )

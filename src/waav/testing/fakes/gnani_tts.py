"""Fake Gnani.ai text-to-speech: ``POST /synthesize``.

Checks what Gnani's API description requires: the headers ``token`` and ``accesskey`` equal
to the fake's (401 ``{"error": …}`` otherwise), ``lang`` and ``product: tts`` (400 without),
and a JSON body ``{input: {text}, voice: {languageCode, name, ssmlGender}, audioConfig:
{audioEncoding: "pcm16", sampleRate}}`` with non-empty text (at most 5000 characters) and a
``languageCode`` equal to ``lang``. Answers ``{"audioContent": "<base64 PCM16>"}`` (with a WAV
header when ``wav_header`` is set), streamed in ``chunk_bytes`` pieces paced by
``chunk_delay`` so a client can decode it before the document is complete; shared faults.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakeGnaniTTS"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "failure", "error": message}, status_code=status)


class FakeGnaniTTS(TTSFakeServer):
    """In-process fake of Gnani's TTS REST API (see the module docstring)."""

    vendor = "gnani"

    def __init__(self, *, access_key: str = "test-access", wav_header: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.access_key = access_key
        #: Prefix the PCM with a WAV header inside ``audioContent``.
        self.wav_header = wav_header

    def build_app(self) -> Starlette:
        async def synthesize(request: Request) -> Response:
            raw = await request.body()
            self.recorder.start(request, body=raw)
            h = request.headers
            if (
                self.faults.reject_auth
                or h.get("token") != self.api_key
                or h.get("accesskey") != self.access_key
            ):
                return _error(401, "Authentication failed: invalid token or accesskey")
            limited = self.rate_limited({"status": "failure", "error": "Too many requests"})
            if limited is not None:
                return limited
            if not h.get("lang") or h.get("product") != "tts":
                return _error(400, "lang and product=tts headers are required")
            try:
                body: dict[str, Any] = json.loads(raw)
                text = body["input"]["text"]
                voice, cfg = body["voice"], body["audioConfig"]
                lang = voice["languageCode"]
                rate = int(cfg["sampleRate"])
            except (ValueError, KeyError, TypeError):
                return _error(400, "input.text, voice.languageCode and audioConfig.sampleRate are required")
            if not isinstance(text, str) or not text.strip() or len(text) > 5000:
                return _error(400, "text must be 1 to 5000 characters")
            if lang != h["lang"]:
                return _error(400, f"voice.languageCode {lang} does not match lang {h['lang']}")
            if cfg.get("audioEncoding") != "pcm16":
                return _error(400, f"unsupported audioEncoding {cfg.get('audioEncoding')!r}")
            container = "wav" if self.wav_header else "none"
            audio = encode_audio(synth_pcm16(text, rate), "linear16", rate, container=container)
            doc = '{"audioContent": "' + base64.b64encode(audio).decode() + '"}'
            return self.stream(doc.encode(), "application/json")

        return Starlette(routes=[Route("/synthesize", synthesize, methods=["POST"])])

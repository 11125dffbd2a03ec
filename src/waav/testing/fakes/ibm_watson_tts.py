"""Fake IBM Watson Text to Speech (IAM token endpoint + ``/v1/synthesize`` + ``/v1/voices``).

One server plays both IBM hosts. ``POST /identity/token`` exchanges the API key for an access
token (form ``grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=…``; an unknown key, or
``reject_auth``, gets IAM's HTTP 400 ``BXNIM0415E``); tokens live ``token_ttl`` seconds.
``POST /instances/{instance_id}/v1/synthesize?voice=…`` needs ``Authorization: Bearer`` with an
issued, unexpired token (401 otherwise), **this fake's instance id in the path** (404
otherwise — the upstream adapter omitted it), a known ``voice``, JSON ``{"text"}`` (1–5000
bytes; SSML must be well-formed, ``express-as`` only on ``…Expressive`` voices),
``rate_percentage`` within −100…100 and an ``Accept`` IBM supports: ``audio/l16;rate=N``
(rate required; ``endianness`` little, the default, or big), ``audio/mulaw;rate=N``,
``audio/alaw;rate=N``, ``audio/basic`` (µ-law 8 kHz), ``audio/wav`` (default, 22050 Hz),
``audio/mp3``, ``audio/ogg;codecs=opus``. Errors use IBM's ``{"code", "error"}`` shape. Audio is
the fake speech streamed paced by ``chunk_delay`` with the shared faults.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.testing.fakes._ibm_iam import issue_iam_token
from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakeIBMWatsonTTS"]

VOICES: list[dict[str, Any]] = [
    {
        "name": "en-US_MichaelV3Voice",
        "language": "en-US",
        "gender": "male",
        "description": "Michael: American English male voice.",
        "customizable": True,
        "url": "https://api.us-south.text-to-speech.watson.cloud.ibm.com/v1/voices/en-US_MichaelV3Voice",
    },
    {
        "name": "en-US_AllisonExpressive",
        "language": "en-US",
        "gender": "female",
        "description": "Allison: American English female voice (expressive).",
        "customizable": True,
        "url": "https://api.us-south.text-to-speech.watson.cloud.ibm.com/v1/voices/en-US_AllisonExpressive",
    },
    {
        "name": "de-DE_BirgitV3Voice",
        "language": "de-DE",
        "gender": "female",
        "description": "Birgit: Standard German female voice.",
        "customizable": True,
        "url": "https://api.us-south.text-to-speech.watson.cloud.ibm.com/v1/voices/de-DE_BirgitV3Voice",
    },
]
_COMPRESSED = {"audio/mp3": "mp3", "audio/mpeg": "mp3", "audio/ogg": "opus"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "error": message}, status_code=status)


def _accept(value: str) -> tuple[str, int, str] | str:
    """(encoding, rate, container) for an ``Accept`` value, or an error message."""
    parts = [p.strip() for p in (value or "audio/wav").split(";")]
    mime = parts[0].lower()
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if mime in ("audio/wav", "*/*", ""):
        return "linear16", int(params.get("rate", 22050)), "wav"
    if mime == "audio/basic":
        return "mulaw", 8000, "none"
    if mime in _COMPRESSED:
        return _COMPRESSED[mime], int(params.get("rate", 22050)), "none"
    if mime in ("audio/l16", "audio/mulaw", "audio/alaw"):
        if "rate" not in params:
            return f"The sampling rate must be specified for {mime}."
        rate = int(params["rate"])
        if not 8000 <= rate <= 192000:
            return f"Unsupported sampling rate {rate}."
        if mime == "audio/l16":
            endian = params.get("endianness", "little-endian")
            if endian not in ("little-endian", "big-endian"):
                return f"Invalid endianness {endian}."
            return ("linear16" if endian == "little-endian" else "linear16-be"), rate, "none"
        return mime.split("/")[1], rate, "none"
    return f"Unsupported Accept type {value!r}."


class FakeIBMWatsonTTS(TTSFakeServer):
    """In-process IBM Watson TTS with its IAM token endpoint (see the module docstring)."""

    vendor = "ibm-watson"

    def __init__(self, *, instance_id: str = "test-instance", token_ttl: float = 3600, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The service instance the fake answers for.
        self.instance_id = instance_id
        #: Lifetime of the access tokens it issues, in seconds.
        self.token_ttl = token_ttl
        #: Access tokens issued so far, with their expiry (epoch seconds).
        self.tokens: dict[str, float] = {}

    def _service_auth(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if token is None or token not in self.tokens or self.tokens[token] < time.time():
            return _error(401, "Unauthorized")
        if request.path_params.get("instance_id") != self.instance_id:
            return _error(404, "Not Found")
        return self.rate_limited({"code": 429, "error": "Too Many Requests"})

    def build_app(self) -> Starlette:
        async def token(request: Request) -> Response:
            return await issue_iam_token(self, request, self.api_key, self.token_ttl, self.tokens.__setitem__)

        async def synthesize(request: Request) -> Response:
            raw = await request.body()
            self.recorder.start(request, body=raw)
            denied = self._service_auth(request)
            if denied is not None:
                return denied
            voice = request.query_params.get("voice", "en-US_MichaelV3Voice")
            if voice not in {v["name"] for v in VOICES}:
                return _error(404, f"Model {voice} not found")
            if not -100 <= int(request.query_params.get("rate_percentage", 0)) <= 100:
                return _error(400, "rate_percentage must be within -100 and 100")
            try:
                text = json.loads(raw)["text"]
            except (ValueError, KeyError, TypeError):
                return _error(400, "The request body must be JSON with a text field.")
            if not isinstance(text, str) or not text.strip() or len(text.encode()) > 5000:
                return _error(400, "Text must be 1 to 5000 bytes.")
            if text.lstrip().startswith("<speak"):
                try:
                    root = ET.fromstring(text)
                except ET.ParseError as exc:
                    return _error(400, f"Invalid SSML: {exc}")
                if root.find(".//express-as") is not None and "Expressive" not in voice:
                    return _error(400, "express-as is supported only by expressive neural voices.")
                text = "".join(root.itertext())
            fmt = _accept(request.headers.get("accept", ""))
            if isinstance(fmt, str):
                return _error(400, fmt)
            encoding, rate, container = fmt
            pcm = synth_pcm16(text, rate)
            if encoding == "linear16-be":
                data = np.frombuffer(pcm, "<i2").astype(">i2").tobytes()
            else:
                data = encode_audio(pcm, encoding, rate, container=container)
            return self.stream(data, request.headers.get("accept") or "audio/wav")

        async def voices(request: Request) -> Response:
            self.recorder.start(request)
            denied = self._service_auth(request)
            if denied is not None:
                return denied
            return JSONResponse({"voices": VOICES})

        return Starlette(
            routes=[
                Route("/identity/token", token, methods=["POST"]),
                Route("/instances/{instance_id}/v1/synthesize", synthesize, methods=["POST"]),
                Route("/instances/{instance_id}/v1/voices", voices, methods=["GET"]),
            ]
        )

"""Fake Azure neural text-to-speech: ``POST /cognitiveservices/v1`` (SSML) and the voice list.

Checks what Azure checks: ``Ocp-Apim-Subscription-Key`` (401 otherwise),
``Content-Type: application/ssml+xml`` (415), a known ``X-Microsoft-OutputFormat`` (400), a
well-formed SSML ``<speak version="1.0">`` in the synthesis namespace with ``xml:lang``, a
``<voice name>`` the fake offers, and ``mstts:express-as`` styles that voice supports with
``styledegree`` in 0.01–2 (400 otherwise, with an empty body, as Azure answers). The spoken
text (all text inside ``<voice>``) is synthesised as fake speech and streamed in the
requested format: ``raw-*`` headerless, ``riff-*`` with a WAV header, compressed formats as
placeholder frames. ``last_ssml`` keeps the parsed document of the last request.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waav.testing.fakes._tts_kit import TTSFakeServer

__all__ = ["FakeAzureTTS"]

_SSML_NS = "{http://www.w3.org/2001/10/synthesis}"
_MSTTS_NS = "{https://www.w3.org/2001/mstts}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_FORMAT_RE = re.compile(
    r"^(raw|riff)-(8khz|16khz|22050hz|24khz|44100hz|48khz)-(16bit-mono-pcm|8bit-mono-(mulaw|alaw))$"
)
_COMPRESSED = {
    "audio-24khz-48kbitrate-mono-mp3": "audio/mpeg",
    "audio-16khz-32kbitrate-mono-mp3": "audio/mpeg",
    "ogg-24khz-16bit-mono-opus": "audio/ogg",
    "webm-24khz-16bit-mono-opus": "audio/webm",
}
_RATES = {"8khz": 8000, "16khz": 16000, "22050hz": 22050, "24khz": 24000, "44100hz": 44100, "48khz": 48000}

#: The voices the fake offers (shape of Azure's ``voices/list`` entries).
VOICES: list[dict[str, Any]] = [
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (en-US, JennyNeural)",
        "DisplayName": "Jenny",
        "LocalName": "Jenny",
        "ShortName": "en-US-JennyNeural",
        "Gender": "Female",
        "Locale": "en-US",
        "LocaleName": "English (United States)",
        "StyleList": [
            "assistant", "chat", "customerservice", "newscast", "angry", "cheerful", "sad", "excited",
            "friendly", "terrified", "shouting", "unfriendly", "whispering", "hopeful",
        ],
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
    },
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (de-DE, ConradNeural)",
        "DisplayName": "Conrad",
        "LocalName": "Conrad",
        "ShortName": "de-DE-ConradNeural",
        "Gender": "Male",
        "Locale": "de-DE",
        "LocaleName": "German (Germany)",
        "SampleRateHertz": "48000",
        "VoiceType": "Neural",
        "Status": "GA",
    },
]  # fmt: skip


class FakeAzureTTS(TTSFakeServer):
    """In-process fake of Azure's TTS REST API (see the module docstring)."""

    vendor = "microsoft-azure"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.last_ssml: ET.Element | None = None

    def _auth(self, request: Request) -> Response | None:
        if self.faults.reject_auth or request.headers.get("ocp-apim-subscription-key") != self.api_key:
            return Response(status_code=401)
        return self.rate_limited({"error": {"code": "TooManyRequests", "message": "Too many requests"}})

    def build_app(self) -> Starlette:
        async def synthesize(request: Request) -> Response:
            raw, denied = await self.admit(request, self._auth)
            if denied is not None:
                return denied
            if request.headers.get("content-type", "").split(";")[0] != "application/ssml+xml":
                return Response(status_code=415)
            fmt = request.headers.get("x-microsoft-outputformat", "")
            match = _FORMAT_RE.match(fmt)
            if match is None and fmt not in _COMPRESSED:
                return Response(status_code=400)
            try:
                root = ET.fromstring(raw)
            except ET.ParseError:
                return Response(status_code=400)
            if root.tag != f"{_SSML_NS}speak" or root.get("version") != "1.0" or not root.get(_XML_LANG):
                return Response(status_code=400)
            voices = root.findall(f"{_SSML_NS}voice")
            known = {v["ShortName"]: v for v in VOICES}
            if not voices or any(v.get("name") not in known for v in voices):
                return Response(status_code=400)
            for voice in voices:
                styles = set(known[voice.get("name", "")].get("StyleList", []))
                for expr in voice.iter(f"{_MSTTS_NS}express-as"):
                    if expr.get("style") not in styles:
                        return Response(status_code=400)
                    degree = expr.get("styledegree")
                    if degree is not None and not 0.01 <= float(degree) <= 2.0:
                        return Response(status_code=400)
            self.last_ssml = root
            text = "".join("".join(v.itertext()) for v in voices)
            if match is None:
                rate = 24000
                return self.stream_speech(text, rate, "mp3", "none", _COMPRESSED[fmt])
            rate = _RATES[match.group(2)]
            encoding = match.group(4) or "linear16"
            container = "wav" if match.group(1) == "riff" else "none"
            return self.stream_speech(
                text, rate, encoding, container, "audio/wav" if container == "wav" else "audio/basic"
            )

        return Starlette(
            routes=[
                Route("/cognitiveservices/v1", synthesize, methods=["POST"]),
                Route("/cognitiveservices/voices/list", self.listing(VOICES, self._auth), methods=["GET"]),
            ]
        )

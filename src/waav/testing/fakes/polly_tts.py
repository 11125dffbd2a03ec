"""Fake Amazon Polly: ``POST /v1/speech`` (SynthesizeSpeech) and ``GET /v1/voices``.

Verifies AWS Signature Version 4 the way AWS does — it recomputes the signature from the
request it received (method, path, query, the headers named in ``SignedHeaders``, the body)
with the secret of the access key id in the credential scope, and answers like Polly: 403
``UnrecognizedClientException`` for an unknown key id, 403 ``InvalidSignatureException`` for a
signature mismatch or a scope that is not ``<date>/<region>/polly/aws4_request``, 403 when
``X-Amz-Date`` is more than 5 minutes off, 403 ``MissingAuthenticationTokenException``
without ``Authorization``. The body is checked as ``SynthesizeSpeech`` checks it: known
``VoiceId`` that supports the ``Engine``, ``OutputFormat`` pcm/mp3/ogg_vorbis with a valid
``SampleRate`` (pcm 8000/16000; others 8000/16000/22050/24000), ``Text`` non-empty (at most
3000 characters), ``TextType`` text or ssml (SSML must be well-formed; ``amazon:effect``
whispered is refused on non-standard engines). Errors carry ``x-amzn-ErrorType`` and
``{"message"}``. Audio: PCM16 LE at ``SampleRate`` (placeholder frames for compressed),
streamed paced by ``chunk_delay`` with the shared faults (429 + ``Retry-After``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav.providers._sigv4 import canonical_request, parse_authorization, signature
from waav.testing.fakes._tts_kit import TTSFakeServer, encode_audio, synth_pcm16

__all__ = ["FakePollyTTS"]

VOICES: list[dict[str, Any]] = [
    {
        "Gender": "Female",
        "Id": "Joanna",
        "LanguageCode": "en-US",
        "LanguageName": "US English",
        "Name": "Joanna",
        "SupportedEngines": ["generative", "long-form", "neural", "standard"],
    },
    {
        "Gender": "Male",
        "Id": "Matthew",
        "LanguageCode": "en-US",
        "LanguageName": "US English",
        "Name": "Matthew",
        "SupportedEngines": ["generative", "neural", "standard"],
    },
    {
        "Gender": "Female",
        "Id": "Vicki",
        "LanguageCode": "de-DE",
        "LanguageName": "German",
        "Name": "Vicki",
        "SupportedEngines": ["neural", "standard"],
    },
    {
        "Gender": "Male",
        "Id": "Russell",
        "LanguageCode": "en-AU",
        "LanguageName": "Australian English",
        "Name": "Russell",
        "SupportedEngines": ["standard"],
    },
]
_RATES = {"pcm": {8000, 16000}, "mp3": {8000, 16000, 22050, 24000}, "ogg_vorbis": {8000, 16000, 22050, 24000}}
_MEDIA = {"pcm": "audio/pcm", "mp3": "audio/mpeg", "ogg_vorbis": "audio/ogg"}


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers={"x-amzn-ErrorType": f"{kind}:"})


class FakePollyTTS(TTSFakeServer):
    """In-process fake of Polly's REST API with SigV4 verification (see the module docstring).

    ``api_key`` is the access key id the fake knows; ``secret_key`` its secret; ``region``
    the region it serves.
    """

    vendor = "aws-polly"

    def __init__(
        self,
        *,
        api_key: str = "AKIDTESTKEY",
        secret_key: str = "test-secret",
        region: str = "us-east-1",
        voices_page_size: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(api_key=api_key, **kwargs)
        self.secret_key = secret_key
        self.region = region
        self.voices_page_size = voices_page_size
        #: Signatures verified so far (one per accepted request).
        self.verified = 0

    def _verify(self, request: Request, body: bytes) -> Response | None:
        header = request.headers.get("authorization")
        if not header:
            return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        auth = parse_authorization(header)
        if auth is None:
            return _error(403, "IncompleteSignatureException", "Authorization header is malformed.")
        if self.faults.reject_auth or auth["access_key_id"] != self.api_key:
            return _error(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        amz_date = request.headers.get("x-amz-date", "")
        try:
            when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return _error(403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed.")
        if abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) > 300:
            return _error(403, "InvalidSignatureException", "Signature expired.")
        scope_ok = (auth["date"], auth["region"], auth["service"], auth["terminal"]) == (
            amz_date[:8],
            self.region,
            "polly",
            "aws4_request",
        )
        names = auth["signed_headers"].split(";")
        if not scope_ok or "host" not in names or "x-amz-date" not in names:
            return _error(403, "InvalidSignatureException", "Credential should be scoped correctly.")
        signed = {n: request.headers.get(n, "") for n in names}
        canon, _ = canonical_request(request.method, request.url.path, request.url.query, signed, body)
        expected = signature(canon, amz_date, self.secret_key, self.region, "polly")
        if expected != auth["signature"]:
            return _error(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )
        self.verified += 1
        limited = self.rate_limited({"message": "Rate exceeded"})
        if limited is not None:
            limited.headers["x-amzn-ErrorType"] = "ThrottlingException:"
        return limited

    def build_app(self) -> Starlette:
        async def speech(request: Request) -> Response:
            raw = await request.body()
            self.recorder.start(request, body=raw)
            denied = self._verify(request, raw)
            if denied is not None:
                return denied
            try:
                body: dict[str, Any] = json.loads(raw)
                text, voice_id, fmt = body["Text"], body["VoiceId"], body["OutputFormat"]
            except (ValueError, KeyError, TypeError):
                return _error(400, "ValidationException", "Text, VoiceId and OutputFormat are required.")
            voice = next((v for v in VOICES if v["Id"] == voice_id), None)
            if voice is None:
                return _error(400, "ValidationException", f"Voice {voice_id} not found.")
            engine = body.get("Engine", "standard")
            if engine not in voice["SupportedEngines"]:
                return _error(
                    400, "EngineNotSupportedException", f"This voice does not support the {engine} engine."
                )
            if fmt not in _RATES:
                return _error(400, "ValidationException", f"Invalid OutputFormat {fmt}.")
            rate = int(body.get("SampleRate") or (16000 if fmt == "pcm" else 22050))
            if rate not in _RATES[fmt]:
                return _error(400, "InvalidSampleRateException", f"Invalid SampleRate {rate} for {fmt}.")
            if not isinstance(text, str) or not text.strip() or len(text) > 3000:
                return _error(400, "TextLengthExceededException", "Text must be 1 to 3000 characters.")
            if body.get("TextType", "text") == "ssml":
                try:
                    root = ET.fromstring(re.sub(r"<(/?)amazon:", r"<\1amazon_", text))
                except ET.ParseError as exc:
                    return _error(400, "InvalidSsmlException", f"Invalid SSML request: {exc}")
                if root.find(".//amazon_effect[@name='whispered']") is not None and engine != "standard":
                    return _error(400, "InvalidSsmlException", "Unsupported Neural feature: whispered.")
                text = "".join(root.itertext())
            elif body.get("TextType", "text") != "text":
                return _error(400, "ValidationException", "TextType must be text or ssml.")
            encoding = "linear16" if fmt == "pcm" else fmt
            data = encode_audio(synth_pcm16(text, rate), encoding, rate)
            return self.stream(data, _MEDIA[fmt], headers={"x-amzn-RequestCharacters": str(len(text))})

        async def voices(request: Request) -> Response:
            self.recorder.start(request)
            denied = self._verify(request, b"")
            if denied is not None:
                return denied
            q = request.query_params
            found = [
                v
                for v in VOICES
                if ("Engine" not in q or q["Engine"] in v["SupportedEngines"])
                and ("LanguageCode" not in q or q["LanguageCode"] == v["LanguageCode"])
            ]
            start = int(q.get("NextToken", "0") or 0)
            page = found[start : start + self.voices_page_size]
            out: dict[str, Any] = {"Voices": page}
            if start + self.voices_page_size < len(found):
                out["NextToken"] = str(start + self.voices_page_size)
            return JSONResponse(out)

        return Starlette(
            routes=[
                Route("/v1/speech", speech, methods=["POST"]),
                Route("/v1/voices", voices, methods=["GET"]),
            ]
        )

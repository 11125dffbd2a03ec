"""Amazon Polly text-to-speech: ``SynthesizeSpeech`` over REST, SigV4-signed, audio streamed.

Request (Polly API reference "SynthesizeSpeech"): ``POST https://polly.{region}.amazonaws.com/
v1/speech`` with JSON ``{Engine, LanguageCode?, OutputFormat, SampleRate, Text, TextType,
VoiceId}``, signed with AWS Signature Version 4 (service ``polly``) by
:mod:`waav.providers._sigv4` — the standard library, no boto3. The response body is the audio
stream. Output: ``pcm`` (signed 16-bit little-endian mono at ``SampleRate`` 8000 or 16000),
``mp3`` and ``ogg_vorbis`` (8000/16000/22050/24000). waav asks for ``pcm`` at 16 kHz (8 kHz for
8 kHz clients) and converts/resamples to the client's format; mp3 and Ogg clients get those,
passed through.

Credentials: ``api_key`` = access key id (``AWS_ACCESS_KEY_ID``), option
``secret_access_key`` (``AWS_SECRET_ACCESS_KEY``), option ``session_token`` (else
``AWS_SESSION_TOKEN`` when the key id is the one from the environment), option ``region``
(``AWS_REGION``, default ``us-east-1``). ``model`` picks the engine (``standard``, ``neural``
— default —, ``long-form``, ``generative``); ``voice_id`` the voice (default ``Joanna``).

``speaking_rate`` ≠ 1 wraps the text in SSML ``<prosody rate="N%">``. Emotion: Polly has no
emotion control; ``delivery_style`` ``whispered`` becomes ``<amazon:effect name="whispered">``
on the standard engine (the only one that supports it). Text that already is SSML
(``<speak…``) is sent with ``TextType: ssml`` as is. Errors: 403 (bad keys or signature) →
auth error; 429 or a ``ThrottlingException`` → rate-limit error. Voices: ``GET /v1/voices``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import httpx

from waav._exceptions import ConfigError, ProviderRateLimitError
from waav.plugin import PluginConstructor
from waav.providers._common import base_url, parse_retry_after, raise_for_response, require_credential
from waav.providers._sigv4 import AwsCredentials, sign_request
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, fetch_json, requested_format

__all__ = ["DEFAULT_VOICE", "PLUGIN", "PollyTTS"]

DEFAULT_URL = "https://polly.{region}.amazonaws.com"
DEFAULT_REGION = "us-east-1"
DEFAULT_VOICE = "Joanna"
DEFAULT_ENGINE = "neural"
ENGINES = ("standard", "neural", "long-form", "generative")
SERVICE = "polly"
_PASSTHROUGH = {"mp3": "mp3", "ogg": "ogg_vorbis", "ogg_vorbis": "ogg_vorbis"}
_THROTTLED = ("ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException")


class PollyTTS(StreamingHTTPTTS):
    """Amazon Polly ``SynthesizeSpeech`` (REST + SigV4)."""

    provider_id = "aws-polly"

    def check_config(self) -> None:
        self.credentials()
        if self.engine not in ENGINES:
            raise ConfigError(
                f"{self.provider_id}: engine {self.engine!r} is not one of {', '.join(ENGINES)}"
            )

    def credentials(self) -> AwsCredentials:
        """The access key pair (errors name the environment variables)."""
        akid = require_credential(self.config, self.provider_id, self.kind)
        secret = require_credential(self.config, self.provider_id, self.kind, option="secret_access_key")
        token = self.config.options.get("session_token")
        if not token and akid == os.environ.get("AWS_ACCESS_KEY_ID"):
            token = os.environ.get("AWS_SESSION_TOKEN")
        return AwsCredentials(akid, secret, str(token) if token else None)

    @property
    def region(self) -> str:
        return str(self.config.options.get("region") or DEFAULT_REGION)

    @property
    def engine(self) -> str:
        return str(self.config.options.get("engine") or self.config.model or DEFAULT_ENGINE).lower()

    @property
    def root(self) -> str:
        return base_url(self.config, DEFAULT_URL).replace("{region}", self.region)

    def output_format(self) -> tuple[str, str, int]:
        """(Polly ``OutputFormat``, waav encoding of the body, sample rate)."""
        encoding, rate = requested_format(self.config)
        if encoding in _PASSTHROUGH:
            return _PASSTHROUGH[encoding], encoding, 24000 if rate >= 24000 else 22050
        return "pcm", "linear16", 8000 if rate <= 8000 else 16000

    def vendor_format(self) -> tuple[str, int]:
        _, encoding, rate = self.output_format()
        return encoding, rate

    def text(self, text: str) -> tuple[str, str]:
        """(``Text``, ``TextType``): SSML when prosody or an effect is needed."""
        if text.lstrip().startswith("<speak"):
            return text, "ssml"
        body = escape(text)
        wrapped = False
        if self.config.speaking_rate != 1.0:
            pct = round(min(200.0, max(20.0, self.config.speaking_rate * 100)))
            body, wrapped = f'<prosody rate="{pct}%">{body}</prosody>', True
        emo = self.config.emotion_config
        style = (emo.delivery_style or "").strip().lower() if emo else ""
        if style in ("whispered", "whisper", "whispering") and self.engine == "standard":
            body, wrapped = f'<amazon:effect name="whispered">{body}</amazon:effect>', True
        return (f"<speak>{body}</speak>", "ssml") if wrapped else (text, "text")

    def body(self, text: str) -> dict[str, Any]:
        """The JSON ``SynthesizeSpeech`` request for ``text``."""
        fmt, _, rate = self.output_format()
        value, text_type = self.text(text)
        body: dict[str, Any] = {
            "Engine": self.engine,
            "OutputFormat": fmt,
            "SampleRate": str(rate),
            "Text": value,
            "TextType": text_type,
            "VoiceId": configured_voice(self.config) or DEFAULT_VOICE,
        }
        if self.config.options.get("language"):
            body["LanguageCode"] = str(self.config.options["language"])
        return body

    def signed(
        self, method: str, url: str, body: bytes, headers: dict[str, str] | None = None
    ) -> dict[str, str]:
        """SigV4 headers for one request (sent exactly as signed)."""
        return sign_request(
            method,
            url,
            headers=headers or {},
            body=body,
            credentials=self.credentials(),
            region=self.region,
            service=SERVICE,
        )

    async def _raise(self, resp: httpx.Response) -> None:
        if not resp.is_success:
            kind = resp.headers.get("x-amzn-errortype", "")
            if resp.status_code == 400 and kind.startswith(_THROTTLED):
                await resp.aread()
                raise ProviderRateLimitError(
                    f"{self.provider_id}: HTTP 400: {kind.split(':')[0]}",
                    provider=self.provider_id,
                    retry_after=parse_retry_after(resp.headers.get("retry-after")),
                )
        await raise_for_response(resp, self.provider_id)

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = self.root + "/v1/speech"
        payload = json.dumps(self.body(text)).encode()
        headers = self.signed("POST", url, payload, {"Content-Type": "application/json"})
        async with client.stream("POST", url, content=payload, headers=headers) as resp:
            await self._raise(resp)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """Polly's voices for the configured engine (``GET /v1/voices``, following
        ``NextToken``; option ``language`` filters by ``LanguageCode``)."""
        voices: list[Voice] = []
        params: dict[str, str] = {"Engine": self.engine}
        if self.config.options.get("language"):
            params["LanguageCode"] = str(self.config.options["language"])
        for _ in range(50):
            url = self.root + "/v1/voices?" + urlencode(sorted(params.items()))
            data = await fetch_json(self.config, self.provider_id, url, headers=self.signed("GET", url, b""))
            for v in data.get("Voices", []):
                voices.append(
                    Voice(
                        id=str(v["Id"]),
                        name=str(v.get("Name") or v["Id"]),
                        language=v.get("LanguageCode"),
                        gender=str(v["Gender"]).lower() if v.get("Gender") else None,
                    )
                )
            token = data.get("NextToken")
            if not token:
                break
            params["NextToken"] = str(token)
        return voices


def _create(config: TTSConfig) -> PollyTTS:
    return PollyTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-aws-polly``.
PLUGIN = PluginConstructor.tts("aws-polly", None, _create)

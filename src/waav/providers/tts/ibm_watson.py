"""IBM Watson Text to Speech: IAM token, then ``POST /instances/{id}/v1/synthesize``, streamed.

Protocol (IBM Cloud docs "Text to Speech API: Synthesize audio", "Using audio formats",
"Modifying speech synthesis with SSML", IAM "Generating an access token with an API key"):

* The API key is exchanged for an IAM access token: ``POST {iam_url}`` (form ``grant_type=
  urn:ibm:params:oauth:grant-type:apikey``, ``apikey``) → ``{access_token, expires_in,
  expiration}``. The token is cached and reused until a minute before it expires; a 401 from
  the service drops it so the next request fetches a fresh one. ``iam_url`` is the option
  ``iam_url``, else the origin of a non-IBM ``base_url`` + ``/identity/token`` (one proxy or
  fake serves both), else ``https://iam.cloud.ibm.com/identity/token``.
* ``POST https://api.{region}.text-to-speech.watson.cloud.ibm.com/instances/{instance_id}/v1/
  synthesize?voice=…[&rate_percentage][&customization_id][&spell_out_mode]`` with
  ``Authorization: Bearer <token>``, an ``Accept`` naming the audio format and JSON
  ``{"text"}``; the body is the audio, streamed (chunked). **The instance id is part of the
  path**: the upstream dropped it unless set by hand; here it comes from
  ``options["instance_id"]`` / ``IBM_WATSON_INSTANCE_ID`` (or a ``base_url`` ending in
  ``/instances/{id}``, as IBM's service credentials give it) and a missing one is an error
  naming that variable. Region: option ``region`` / ``IBM_WATSON_REGION``, default ``us-south``.

Formats: PCM is ``audio/l16;rate=N;endianness=little-endian`` at the client's rate (IBM
resamples; 8–48 kHz), µ-law/A-law clients get ``audio/mulaw``/``audio/alaw`` at their rate,
mp3 and Ogg Opus clients ``audio/mp3`` / ``audio/ogg;codecs=opus``, passed through.
``speaking_rate`` → ``rate_percentage`` (−100…+100). Emotion: IBM's expressive neural voices
(``…Expressive``) take SSML ``<express-as style="cheerful|empathetic|neutral|uncertain">``;
the emotion fields map to those styles for such voices (other voices have no emotion control).
Voices: ``GET /instances/{id}/v1/voices``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import httpx

from waav._exceptions import ProviderAuthError
from waav.plugin import PluginConstructor
from waav.providers._common import (
    base_url,
    error_for_status,
    error_from_exception,
    raise_for_response,
    require_credential,
)
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, fetch_json, requested_format

__all__ = ["DEFAULT_IAM_URL", "DEFAULT_VOICE", "PLUGIN", "IBMWatsonTTS", "ibm_style"]

DEFAULT_URL = "https://api.{region}.text-to-speech.watson.cloud.ibm.com"
DEFAULT_IAM_URL = "https://iam.cloud.ibm.com/identity/token"
DEFAULT_VOICE = "en-US_MichaelV3Voice"
GRANT = "urn:ibm:params:oauth:grant-type:apikey"
_PASSTHROUGH = {"mp3": "audio/mp3", "opus": "audio/ogg;codecs=opus", "ogg": "audio/ogg;codecs=opus"}
#: emotion / delivery words → IBM expressive styles
STYLES = {
    "happy": "cheerful",
    "cheerful": "cheerful",
    "excited": "cheerful",
    "joyful": "cheerful",
    "sad": "empathetic",
    "empathetic": "empathetic",
    "caring": "empathetic",
    "calm": "neutral",
    "neutral": "neutral",
    "measured": "neutral",
    "uncertain": "uncertain",
    "confused": "uncertain",
    "hesitant": "uncertain",
}


def ibm_style(word: str | None) -> str | None:
    """IBM's expressive style for an emotion or delivery word (None when IBM has none)."""
    return STYLES.get(word.strip().lower()) if word else None


class IBMWatsonTTS(StreamingHTTPTTS):
    """IBM Watson Text to Speech with IAM authentication (token cached until expiry)."""

    provider_id = "ibm-watson"

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        if "/instances/" not in (self.config.base_url or ""):
            require_credential(self.config, self.provider_id, self.kind, option="instance_id")

    # --- endpoints ------------------------------------------------------------------------
    @property
    def region(self) -> str:
        return str(self.config.options.get("region") or "us-south")

    @property
    def root(self) -> str:
        """``…/instances/{instance_id}`` of the service. A ``base_url`` that already ends in
        ``/instances/{id}`` (the URL IBM's service credentials give) is used as is."""
        url = base_url(self.config, DEFAULT_URL).replace("{region}", self.region)
        if "/instances/" in url:
            return url
        instance = require_credential(self.config, self.provider_id, self.kind, option="instance_id")
        return f"{url}/instances/{instance}"

    @property
    def iam_url(self) -> str:
        """``options["iam_url"]``; else, for a ``base_url`` that is not an IBM Cloud host (a
        proxy or fake serving both), its origin + ``/identity/token``; else IBM's IAM."""
        explicit = self.config.options.get("iam_url")
        if explicit:
            return str(explicit)
        if self.config.base_url:
            parts = urlsplit(base_url(self.config, ""))
            if not parts.hostname or not parts.hostname.endswith(".cloud.ibm.com"):
                return f"{parts.scheme}://{parts.netloc}/identity/token"
        return DEFAULT_IAM_URL

    # --- IAM ------------------------------------------------------------------------------
    async def token(self, client: httpx.AsyncClient | None = None) -> str:
        """A valid IAM access token (cached until a minute before it expires)."""
        async with self._token_lock:
            if self._token is not None and time.time() < self._token_expires - 60:
                return self._token
            key = require_credential(self.config, self.provider_id, self.kind)
            data = {"grant_type": GRANT, "apikey": key}
            headers = {"Accept": "application/json"}
            try:
                if client is not None:
                    resp = await client.post(self.iam_url, data=data, headers=headers)
                else:
                    timeout = httpx.Timeout(
                        self.config.request_timeout, connect=self.config.connection_timeout
                    )
                    async with httpx.AsyncClient(timeout=timeout) as own:
                        resp = await own.post(self.iam_url, data=data, headers=headers)
            except httpx.HTTPError as exc:
                raise error_from_exception(exc, self.provider_id) from exc
            if resp.status_code == 400:  # IAM answers an unknown API key with 400 (BXNIM0415E)
                raise ProviderAuthError(
                    f"{self.provider_id}: IAM rejected the API key: {resp.text[:200]}",
                    provider=self.provider_id,
                )
            if not resp.is_success:
                raise error_for_status(resp.status_code, resp.content, resp.headers, self.provider_id)
            try:
                body = resp.json()
                token = str(body["access_token"])
            except (ValueError, KeyError, TypeError) as exc:
                raise error_from_exception(exc, self.provider_id) from exc
            expires = body.get("expiration") or time.time() + float(body.get("expires_in") or 3600)
            self._token, self._token_expires = token, float(expires)
            return token

    # --- synthesis ------------------------------------------------------------------------
    @property
    def voice(self) -> str:
        return configured_voice(self.config) or DEFAULT_VOICE

    def accept(self) -> tuple[str, str, int]:
        """(``Accept`` header, waav encoding of the body, sample rate)."""
        encoding, rate = requested_format(self.config)
        rate = min(48000, max(8000, rate))
        if encoding in ("mulaw", "alaw"):
            return f"audio/{encoding};rate={rate}", encoding, rate
        if encoding in _PASSTHROUGH:
            return _PASSTHROUGH[encoding], encoding, rate
        return f"audio/l16;rate={rate};endianness=little-endian", "linear16", rate

    def vendor_format(self) -> tuple[str, int]:
        _, encoding, rate = self.accept()
        return encoding, rate

    def params(self) -> dict[str, Any]:
        """The ``synthesize`` query parameters."""
        params: dict[str, Any] = {"voice": self.voice}
        if self.config.speaking_rate != 1.0:
            params["rate_percentage"] = max(-100, min(100, round((self.config.speaking_rate - 1.0) * 100)))
        for key in ("customization_id", "spell_out_mode"):
            if key in self.config.options:
                params[key] = self.config.options[key]
        return params

    def text(self, text: str) -> str:
        """The ``text`` to send: SSML with ``express-as`` for emotion on expressive voices."""
        emo = self.config.emotion_config
        if emo is None or "expressive" not in self.voice.lower() or text.lstrip().startswith("<speak"):
            return text
        style = ibm_style(emo.emotion) or ibm_style(emo.delivery_style)
        if style is None:
            return text
        return f'<speak><express-as style="{style}">{escape(text)}</express-as></speak>'

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        token = await self.token(client)
        headers = {"Authorization": f"Bearer {token}", "Accept": self.accept()[0]}
        url = self.root + "/v1/synthesize"
        async with client.stream(
            "POST", url, params=self.params(), json={"text": self.text(text)}, headers=headers
        ) as resp:
            if resp.status_code == 401:
                self._token = None  # revoked or expired early: fetch a new one next time
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """The instance's voices (``GET /v1/voices``)."""
        token = await self.token()
        data = await fetch_json(
            self.config,
            self.provider_id,
            self.root + "/v1/voices",
            headers={"Authorization": f"Bearer {token}"},
        )
        return [
            Voice(
                id=str(v["name"]),
                name=str(v.get("description") or v["name"]),
                language=v.get("language"),
                gender=v.get("gender"),
            )
            for v in data.get("voices", [])
        ]


def _create(config: TTSConfig) -> IBMWatsonTTS:
    return IBMWatsonTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-ibm-watson``.
PLUGIN = PluginConstructor.tts("ibm-watson", None, _create)

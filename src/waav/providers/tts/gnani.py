"""Gnani.ai text-to-speech: ``POST /synthesize``, the base64 audio decoded while it streams.

Request (Gnani's TTS API description, ``gnani-ai/text-to-speech``): headers ``token``,
``accesskey``, ``lang`` (language code) and ``product: tts``; JSON ``{input: {text}, voice:
{languageCode, name, ssmlGender}, audioConfig: {audioEncoding: "pcm16", sampleRate}}``. The
answer is ``{"audioContent": "<base64 PCM16>"}``; as for Google, the base64 string is decoded
as the body arrives, so audio reaches the client from the first network chunk, and a WAV
header, if Gnani sends one, is parsed and stripped. waav asks for the client's rate when it
is 8 or 16 kHz (Gnani's documented telephony/ASR rates), else 16 kHz, and converts.

Credentials (upstream's env vars): ``api_key`` = token (``GNANI_TOKEN``), option
``access_key`` (``GNANI_ACCESS_KEY``); Gnani issues a private CA certificate for its TLS
endpoint: option ``certificate_path`` (``GNANI_CERTIFICATE_PATH``) or ``certificate_content``
(PEM text, ``GNANI_CERTIFICATE_CONTENT``) is added to the trusted roots. Options:
``language`` (default ``en-IN``; also sent as ``lang``), ``gender`` (``FEMALE``/``MALE``).
``voice_id`` is the voice ``name`` (default ``gnani``, as in Gnani's sample).

Gnani's API has no emotion, speaking-rate or voice-list endpoint; those fields are not sent.
Differences: Gnani's own sample client sends the request as ``GET`` with a body; upstream and
waav use ``POST``. Gnani's newer Vachana API (``api.vachana.ai``) is a different product.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, nearest_rate, requested_format
from waav.providers.tts.google import iter_audio_content

__all__ = ["DEFAULT_BASE_URL", "PLUGIN", "GnaniTTS"]

DEFAULT_BASE_URL = "https://asr.gnani.ai"
DEFAULT_LANGUAGE = "en-IN"
DEFAULT_VOICE = "gnani"
RATES = (8000, 16000)


class GnaniTTS(StreamingHTTPTTS):
    """Gnani.ai TTS over its ``/synthesize`` REST API."""

    provider_id = "gnani"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        require_credential(self.config, self.provider_id, self.kind, option="access_key")
        self.ssl_context()

    def ssl_context(self) -> ssl.SSLContext | None:
        """The default trust store plus Gnani's CA certificate, when one is configured."""
        path = self.config.options.get("certificate_path")
        content = self.config.options.get("certificate_content")
        if not path and not content:
            return None
        ctx = ssl.create_default_context()
        try:
            if path:
                ctx.load_verify_locations(cafile=str(path))
            else:
                ctx.load_verify_locations(cadata=str(content))
        except (OSError, ssl.SSLError, ValueError) as exc:
            what = (
                f"certificate_path {path!r} (GNANI_CERTIFICATE_PATH)"
                if path
                else ("certificate_content (GNANI_CERTIFICATE_CONTENT)")
            )
            raise ConfigError(
                f"{self.provider_id}: cannot load the CA certificate from {what}: {exc}"
            ) from exc
        return ctx

    async def connect(self) -> None:
        if self._client is None:
            self.check_config()
            ctx = self.ssl_context()
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.request_timeout, connect=self.config.connection_timeout),
                limits=httpx.Limits(max_connections=self.config.request_pool_size),
                verify=ctx if ctx is not None else True,
            )
        await super().connect()

    @property
    def language(self) -> str:
        return str(self.config.options.get("language") or DEFAULT_LANGUAGE)

    def vendor_format(self) -> tuple[str, int]:
        _, rate = requested_format(self.config)
        return "wav", nearest_rate(rate, RATES)  # raw PCM16, or WAV whose header is stripped

    def body(self, text: str) -> dict[str, Any]:
        """The JSON request body for ``text``."""
        _, rate = self.vendor_format()
        return {
            "input": {"text": text},
            "voice": {
                "languageCode": self.language,
                "name": configured_voice(self.config) or DEFAULT_VOICE,
                "ssmlGender": str(self.config.options.get("gender") or "FEMALE").upper(),
            },
            "audioConfig": {"audioEncoding": "pcm16", "sampleRate": rate},
        }

    def _headers(self) -> dict[str, str]:
        return {
            "token": require_credential(self.config, self.provider_id, self.kind),
            "accesskey": require_credential(self.config, self.provider_id, self.kind, option="access_key"),
            "lang": self.language,
            "product": "tts",
        }

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, DEFAULT_BASE_URL) + "/synthesize"
        async with client.stream("POST", url, json=self.body(text), headers=self._headers()) as resp:
            await raise_for_response(resp, self.provider_id)
            async for audio in iter_audio_content(resp):
                yield audio


def _create(config: TTSConfig) -> GnaniTTS:
    return GnaniTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-gnani``.
PLUGIN = PluginConstructor.tts("gnani", None, _create)

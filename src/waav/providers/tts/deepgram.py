"""Deepgram Aura text-to-speech: ``POST /v1/speak``, audio streamed as it is generated.

Request: ``POST {base}/v1/speak?model=…&encoding=…&sample_rate=…[&container=none]`` with
``Authorization: Token <key>`` and JSON ``{"text": …}``. Deepgram's REST default is a WAV
container; for the PCM family waav asks for ``container=none`` so the body is raw samples
from the first byte. Encodings and rates offered by Deepgram: ``linear16`` at 8/16/24/32/48 kHz,
``mulaw`` and ``alaw`` at 8/16 kHz, ``mp3`` (22.05 kHz), ``opus`` (48 kHz, Ogg), ``flac``,
``aac``. The client's format is requested directly when Deepgram has it (µ-law 8 kHz for
telephony is passed through untouched); otherwise the nearest PCM is requested and converted.

Voices: ``GET {base}/v1/models`` (its ``tts`` list). Emotion controls: none at Deepgram.
Options: ``model`` (else ``voice_id``, else ``aura-2-thalia-en``), ``bit_rate`` (compressed
formats), ``mip_opt_out``, ``tag``. ``speaking_rate`` ≠ 1 is sent as ``speed``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import fetch_json, nearest_rate, requested_format

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "PLUGIN", "DeepgramTTS"]

DEFAULT_BASE_URL = "https://api.deepgram.com"
DEFAULT_MODEL = "aura-2-thalia-en"

#: Rates Deepgram offers per encoding (its "Media Output Settings" page).
PCM_RATES = {
    "linear16": (8000, 16000, 24000, 32000, 48000),
    "mulaw": (8000, 16000),
    "alaw": (8000, 16000),
}
COMPRESSED_RATES = {"mp3": 22050, "opus": 48000, "flac": 48000, "aac": 22050}


class DeepgramTTS(StreamingHTTPTTS):
    """Deepgram Aura over the streamed ``/v1/speak`` REST API."""

    provider_id = "deepgram"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)

    @property
    def model(self) -> str:
        cfg = self.config
        if cfg.model.startswith("aura"):
            return cfg.model
        return cfg.voice_id or cfg.model or DEFAULT_MODEL

    def vendor_format(self) -> tuple[str, int]:
        encoding, rate = requested_format(self.config)
        if encoding in PCM_RATES:
            return encoding, nearest_rate(rate, PCM_RATES[encoding])
        if encoding in COMPRESSED_RATES:
            return encoding, COMPRESSED_RATES[encoding]
        # float32 / wav / anything else: linear16 at the nearest rate, converted here
        return "linear16", nearest_rate(rate, PCM_RATES["linear16"])

    def query(self) -> dict[str, Any]:
        """The ``/v1/speak`` query parameters for the current config."""
        encoding, rate = self.vendor_format()
        params: dict[str, Any] = {"model": self.model, "encoding": encoding}
        if encoding in PCM_RATES:
            params["sample_rate"] = rate
            params["container"] = "none"
        elif encoding == "opus":
            params["container"] = "ogg"
        elif encoding == "flac":
            params["sample_rate"] = rate
        if "bit_rate" in self.config.options and encoding in ("mp3", "opus", "aac"):
            params["bit_rate"] = int(self.config.options["bit_rate"])
        if self.config.speaking_rate != 1.0:
            params["speed"] = self.config.speaking_rate
        for key in ("mip_opt_out", "tag"):
            if key in self.config.options:
                value = self.config.options[key]
                params[key] = str(value).lower() if isinstance(value, bool) else value
        return params

    def _headers(self) -> dict[str, str]:
        key = require_credential(self.config, self.provider_id, self.kind)
        return {"Authorization": f"Token {key}"}

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v1/speak"
        async with client.stream(
            "POST", url, params=self.query(), json={"text": text}, headers=self._headers()
        ) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """Deepgram's TTS models (``GET /v1/models``), one :class:`Voice` per model."""
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v1/models"
        data = await fetch_json(self.config, self.provider_id, url, headers=self._headers())
        voices = []
        for m in data.get("tts", []):
            meta = m.get("metadata") or {}
            langs = m.get("languages") or []
            tags = [str(t).lower() for t in meta.get("tags") or []]
            gender = next((g for g in ("feminine", "masculine") if g in tags), None)
            voices.append(
                Voice(
                    id=str(m.get("canonical_name") or m.get("name")),
                    name=str(m.get("name") or ""),
                    language=langs[0] if langs else None,
                    gender={"feminine": "female", "masculine": "male"}.get(gender or ""),
                    accent=meta.get("accent"),
                    sample=meta.get("sample"),
                )
            )
        return voices


def _create(config: TTSConfig) -> DeepgramTTS:
    return DeepgramTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-deepgram``.
PLUGIN = PluginConstructor.tts("deepgram", None, _create)

"""LMNT text-to-speech: ``POST /v1/ai/speech/bytes``, audio streamed as it is generated.

Request (LMNT API reference "Generate speech", the ``lmnt`` SDK's ``speech.generate``):
``POST {base}/v1/ai/speech/bytes`` with ``X-API-Key`` and ``lmnt-version`` headers and JSON
``{text, voice, model, format, sample_rate, language?, temperature?, top_p?, seed?}``; the
body is the audio, streamed. Formats: ``pcm_s16le`` / ``pcm_f32le`` (raw), ``ulaw`` (8-bit
µ-law *with a WAV header*), ``mp3``, ``webm`` (streamable); ``wav`` and ``aac`` (synthesised
whole first). Rates: 8, 16 or 24 kHz. waav asks for ``pcm_s16le`` at the client's rate (or
the next higher one) and converts; µ-law 8 kHz clients get ``ulaw`` (header stripped), mp3, WebM
and AAC clients the same compressed format, passed through.

Upstream differences: upstream asked for the old ``raw`` format, which LMNT's reference
documents as 32-bit float (not PCM16), and sent a ``speed`` field the bytes endpoint does not
define; ``speaking_rate`` is therefore not sent here.

Emotion: LMNT has no emotion field; its ``temperature`` controls "how expressive and
emotionally varied the speech becomes", so ``emotion_config.intensity`` (0–1) becomes
``temperature`` 0.3–1.3 unless the ``temperature`` option is set. Options: ``language``,
``temperature``, ``top_p``, ``seed``, ``api_version``. Voices: ``GET /v1/ai/voice/list``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import (
    configured_voice,
    emotion_intensity,
    fetch_json,
    float_option,
    nearest_rate,
    requested_format,
)

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_VOICE", "PLUGIN", "LmntTTS"]

DEFAULT_BASE_URL = "https://api.lmnt.com"
DEFAULT_VOICE = "leah"
DEFAULT_MODEL = "blizzard"
API_VERSION = "2025-09-25"
RATES = (8000, 16000, 24000)
#: Compressed formats LMNT can send as the client asked (Ogg Opus is not one: LMNT sends WebM).
_PASSTHROUGH = {"mp3": "mp3", "webm": "webm", "aac": "aac"}
#: LMNT tags voices "F"/"M"; waav's Voice uses words.
_GENDERS = {"f": "female", "m": "male"}


class LmntTTS(StreamingHTTPTTS):
    """LMNT over the streamed ``/v1/ai/speech/bytes`` REST API."""

    provider_id = "lmnt"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self.body("x")  # validates the numeric options up front

    def output_format(self) -> tuple[str, str, int]:
        """(LMNT ``format``, waav encoding of the body, sample rate)."""
        encoding, rate = requested_format(self.config)
        if encoding == "mulaw" and rate == 8000:
            return "ulaw", "wav", 8000  # µ-law in a WAV header: the converter strips it
        if encoding in _PASSTHROUGH:
            fmt = _PASSTHROUGH[encoding]
            return fmt, encoding, 24000
        pcm = nearest_rate(rate, RATES)
        return "pcm_s16le", "linear16", pcm

    def vendor_format(self) -> tuple[str, int]:
        _, encoding, rate = self.output_format()
        return encoding, rate

    def body(self, text: str) -> dict[str, Any]:
        """The JSON request body for ``text``."""
        cfg = self.config
        fmt, _, rate = self.output_format()
        body: dict[str, Any] = {
            "text": text,
            "voice": configured_voice(cfg) or DEFAULT_VOICE,
            "model": cfg.model or DEFAULT_MODEL,
            "format": fmt,
        }
        if fmt not in ("mp3", "webm", "aac"):
            body["sample_rate"] = rate
        if cfg.options.get("language"):
            body["language"] = str(cfg.options["language"])
        if "temperature" in cfg.options:
            body["temperature"] = float_option(cfg, "temperature", 1.0, 0.0, 2.0)
        elif cfg.emotion_config is not None:
            body["temperature"] = round(0.3 + emotion_intensity(cfg), 3)
        if "top_p" in cfg.options:
            body["top_p"] = float_option(cfg, "top_p", 0.8, 0.0, 1.0)
        if "seed" in cfg.options:
            body["seed"] = int(cfg.options["seed"])
        return body

    def _headers(self) -> dict[str, str]:
        return {
            "X-API-Key": require_credential(self.config, self.provider_id, self.kind),
            "lmnt-version": str(self.config.options.get("api_version") or API_VERSION),
        }

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v1/ai/speech/bytes"
        headers = {**self._headers(), "Accept": "application/octet-stream"}
        async with client.stream("POST", url, json=self.body(text), headers=headers) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """The account's LMNT voices (``GET /v1/ai/voice/list``: system, own and shared)."""
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v1/ai/voice/list"
        data = await fetch_json(self.config, self.provider_id, url, headers=self._headers())
        items = data if isinstance(data, list) else data.get("voices", [])
        return [
            Voice(
                id=str(v["id"]),
                name=str(v.get("name") or ""),
                gender=_GENDERS.get(str(v.get("gender") or "").lower(), v.get("gender")),
                sample=v.get("preview_url"),
            )
            for v in items
        ]


def _create(config: TTSConfig) -> LmntTTS:
    return LmntTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-lmnt``.
PLUGIN = PluginConstructor.tts("lmnt", None, _create)

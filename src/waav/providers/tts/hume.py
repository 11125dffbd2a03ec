"""Hume Octave text-to-speech: ``POST /v0/tts/stream/file``, audio streamed as generated.

Request (Hume TTS API reference "Text-to-Speech (Streamed File)"): ``POST
{base}/v0/tts/stream/file`` with ``X-Hume-Api-Key`` and JSON ``{utterances: [{text,
description?, voice?: {id | name, provider}, speed?, trailing_silence?}], format: {type},
instant_mode, context?, version?}``; the body is the audio file, streamed. ``format.type`` is
``pcm`` (16-bit little-endian **at 48 kHz** — Hume's examples and integrations stream 48 kHz),
``wav`` or ``mp3``; there is no sample-rate field. waav asks for ``pcm`` and resamples natively
to the client's rate; mp3 clients get ``mp3``, passed through.

Note: Hume's reference announces the sunset of its TTS and EVI APIs (access ends
2026-11-13); the adapter follows the last published API.

Upstream differences: upstream sent ``format{type: "pcm16", sample_rate: 24000}``; Hume's
format type is ``pcm`` and takes no rate, so its audio (48 kHz) was mislabelled as 24 kHz.

Voice: ``voice_id`` that looks like a UUID is sent as ``{"id"}``, anything else as ``{"name"}``
with ``provider`` from the option ``voice_provider`` (``HUME_AI`` for the Voice Library,
default; ``CUSTOM_VOICE`` for your own). Without a voice, waav uses the library voice
``Ava Song``: instant mode (lowest latency, on by default, option ``instant_mode``) requires one.

Emotion: Octave takes natural-language acting instructions in ``description``; the emotion
fields become a short instruction ("Sound very happy. Delivery: whispered."), appended to the
``description`` option. ``speaking_rate`` → ``speed`` (0.5–2). Option ``context: true`` sends
the previous request's text as ``context`` for continuity. Options ``version`` (Octave model
``1``/``2``), ``trailing_silence``. Voices: ``GET /v0/tts/voices?provider=…`` (paginated).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, emotion_words, fetch_json, requested_format

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_VOICE", "PCM_RATE", "PLUGIN", "HumeTTS"]

DEFAULT_BASE_URL = "https://api.hume.ai"
DEFAULT_VOICE = "Ava Song"
PCM_RATE = 48000
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class HumeTTS(StreamingHTTPTTS):
    """Hume Octave TTS over the streamed ``/v0/tts/stream/file`` REST API."""

    provider_id = "hume"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)

    def format_type(self) -> str:
        encoding, _ = requested_format(self.config)
        return "mp3" if encoding == "mp3" else "pcm"

    def vendor_format(self) -> tuple[str, int]:
        fmt = self.format_type()
        return ("mp3" if fmt == "mp3" else "linear16"), PCM_RATE

    def voice(self) -> dict[str, str]:
        """The utterance ``voice`` object."""
        chosen = configured_voice(self.config)
        voice = {"id": chosen} if chosen and _UUID.match(chosen) else {"name": chosen or DEFAULT_VOICE}
        voice["provider"] = str(self.config.options.get("voice_provider") or "HUME_AI")
        return voice

    def description(self) -> str | None:
        """Acting instructions: the ``description`` option, then the emotion fields."""
        parts = [str(self.config.options["description"])] if self.config.options.get("description") else []
        emotion = emotion_words(self.config)
        if emotion:
            parts.append(emotion)
        return " ".join(parts) or None

    def body(self, text: str) -> dict[str, Any]:
        """The JSON request body for ``text``."""
        cfg = self.config
        utterance: dict[str, Any] = {"text": text, "voice": self.voice()}
        description = self.description()
        if description:
            utterance["description"] = description
        if cfg.speaking_rate != 1.0:
            utterance["speed"] = min(2.0, max(0.5, cfg.speaking_rate))
        if "trailing_silence" in cfg.options:
            utterance["trailing_silence"] = float(cfg.options["trailing_silence"])
        body: dict[str, Any] = {
            "utterances": [utterance],
            "format": {"type": self.format_type()},
            "instant_mode": bool(cfg.options.get("instant_mode", True)),
        }
        if cfg.options.get("version"):
            body["version"] = str(cfg.options["version"])
        if cfg.options.get("context") and self.previous_text:
            body["context"] = {"utterances": [{"text": self.previous_text, "voice": self.voice()}]}
        return body

    def _headers(self) -> dict[str, str]:
        return {"X-Hume-Api-Key": require_credential(self.config, self.provider_id, self.kind)}

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v0/tts/stream/file"
        async with client.stream("POST", url, json=self.body(text), headers=self._headers()) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """Voices of ``options["voices_provider"]`` (default ``HUME_AI``: the Voice Library),
        following ``total_pages``."""
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v0/tts/voices"
        provider = str(self.config.options.get("voices_provider") or "HUME_AI")
        voices: list[Voice] = []
        page = 0
        while page < 50:
            params = {"provider": provider, "page_number": page, "page_size": 100}
            data = await fetch_json(
                self.config, self.provider_id, url, headers=self._headers(), params=params
            )
            for v in data.get("voices_page") or []:
                voices.append(Voice(id=str(v["id"]), name=str(v.get("name") or "")))
            page += 1
            if page >= int(data.get("total_pages") or 0):
                break
        return voices


def _create(config: TTSConfig) -> HumeTTS:
    return HumeTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-hume``.
PLUGIN = PluginConstructor.tts("hume", None, _create)

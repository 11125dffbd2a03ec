"""OpenAI text-to-speech: ``POST /v1/audio/speech``, audio streamed as it is generated.

Request: JSON ``{model, input, voice, response_format, speed[, instructions]}`` with
``Authorization: Bearer <key>``. ``response_format`` ``pcm`` is raw 24 kHz 16-bit signed
little-endian mono (OpenAI's documented PCM), which waav asks for whenever the client wants
PCM-family audio (µ-law/A-law/float/other rates are converted here); ``mp3``, ``opus``,
``aac``, ``flac`` and ``wav`` are requested as such and passed through. ``speed`` is
``speaking_rate`` clamped to OpenAI's 0.25–4.0.

Emotion: only ``gpt-4o-mini-tts`` takes ``instructions`` (OpenAI: it does not work with
``tts-1``/``tts-1-hd``), so the emotion fields become an instruction sentence there; when
emotion is configured and no model is chosen, ``gpt-4o-mini-tts`` is used. The option
``instructions`` adds free text. OpenAI has no voice-list endpoint.

Base URL: ``base_url`` is the API root, with or without the ``/v1`` suffix (so
OpenAI-compatible servers configured the usual way work too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, emotion_words, requested_format

__all__ = ["DEFAULT_BASE_URL", "PLUGIN", "VOICES", "OpenAITTS"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "tts-1"
INSTRUCTED_MODEL = "gpt-4o-mini-tts"
#: Built-in voices listed in OpenAI's text-to-speech guide.
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
PCM_RATE = 24000
_PASSTHROUGH = {"mp3", "opus", "aac", "flac"}


class OpenAITTS(StreamingHTTPTTS):
    """OpenAI ``audio/speech`` (tts-1, tts-1-hd, gpt-4o-mini-tts)."""

    provider_id = "openai"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)

    @property
    def model(self) -> str:
        if self.config.model:
            return self.config.model
        return INSTRUCTED_MODEL if emotion_words(self.config) else DEFAULT_MODEL

    def response_format(self) -> str:
        encoding, _ = requested_format(self.config)
        return encoding if encoding in _PASSTHROUGH else "pcm"

    def vendor_format(self) -> tuple[str, int]:
        fmt = self.response_format()
        return ("linear16" if fmt == "pcm" else fmt), PCM_RATE

    def body(self, text: str) -> dict[str, Any]:
        """The JSON request body for ``text``."""
        body: dict[str, Any] = {
            "model": self.model,
            "input": text,
            "voice": configured_voice(self.config) or "alloy",
            "response_format": self.response_format(),
        }
        if self.config.speaking_rate != 1.0:
            body["speed"] = min(4.0, max(0.25, self.config.speaking_rate))
        if self.model.startswith("gpt-"):
            parts = (
                [str(self.config.options["instructions"])] if self.config.options.get("instructions") else []
            )
            emotion = emotion_words(self.config)
            if emotion:
                parts.append(emotion)
            if parts:
                body["instructions"] = " ".join(parts)
        return body

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        root = base_url(self.config, DEFAULT_BASE_URL)
        if not root.endswith("/v1"):
            root += "/v1"
        key = require_credential(self.config, self.provider_id, self.kind)
        headers = {"Authorization": f"Bearer {key}"}
        async with client.stream(
            "POST", root + "/audio/speech", json=self.body(text), headers=headers
        ) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk


def _create(config: TTSConfig) -> OpenAITTS:
    return OpenAITTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-openai``.
PLUGIN = PluginConstructor.tts("openai", None, _create)

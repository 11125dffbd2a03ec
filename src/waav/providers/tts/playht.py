"""PlayHT text-to-speech: ``POST /api/v2/tts/stream``, audio streamed as it is generated.

Request (PlayHT API reference "Text to speech HTTP streaming"): ``POST
{base}/api/v2/tts/stream`` with headers ``X-USER-ID: <user id>`` and ``AUTHORIZATION: <API
key>`` (both required; the user id comes from ``options["user_id"]`` or ``PLAYHT_USER_ID``),
an audio ``accept`` header (``application/json`` would return a link instead of audio), and
JSON ``{text, voice, voice_engine, output_format, sample_rate, speed, …}``. Output formats:
``raw`` (PCM16 little-endian), ``mulaw``, ``wav``, ``mp3`` (PlayHT's default), ``ogg``,
``flac``; ``sample_rate`` 8000–48000. waav asks for ``raw`` at the client's rate (so PCM
needs no resampling), ``mulaw`` for 8 kHz µ-law clients, and passes mp3/ogg/flac through.

Emotion: PlayHT's ``emotion`` field (``female_happy``, ``male_sad``, …) exists only for the
``PlayHT2.0``/``PlayHT2.0-turbo`` engines; there waav maps ``emotion`` (gender from the option
``voice_gender``, default ``female``) and ``intensity`` → ``style_guidance`` 1–30. Other
engines get no emotion fields (PlayHT rejects them). ``speaking_rate`` → ``speed`` (0.1–5).
Options: ``voice_engine`` (default ``Play3.0-mini``), ``quality``, ``voice_guidance``,
``text_guidance``, ``temperature``, ``seed``, ``language``. Voices: ``GET /api/v2/voices``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, emotion_intensity, fetch_json, requested_format

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_VOICE", "PLUGIN", "PlayHTTTS", "playht_emotion"]

DEFAULT_BASE_URL = "https://api.play.ht"
#: The voice of PlayHT's API reference examples ("Jennifer").
DEFAULT_VOICE = "s3://voice-cloning-zero-shot/d9ff78ba-d016-47f6-b0ef-dd630f59414e/female-cs/manifest.json"
DEFAULT_ENGINE = "Play3.0-mini"
_ACCEPT = {
    "raw": "audio/basic",
    "mulaw": "audio/basic",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}
_PASSTHROUGH = {"mp3": "mp3", "ogg": "ogg", "ogg_vorbis": "ogg", "flac": "flac"}
#: waav / upstream emotion words → PlayHT 2.0 emotion suffixes.
EMOTIONS = {
    "happy": "happy",
    "joyful": "happy",
    "cheerful": "happy",
    "excited": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fearful",
    "scared": "fearful",
    "afraid": "fearful",
    "disgust": "disgust",
    "disgusted": "disgust",
    "surprised": "surprised",
}


def playht_emotion(emotion: str, gender: str = "female") -> str | None:
    """PlayHT 2.0's emotion value for an emotion word (None when PlayHT has no match)."""
    suffix = EMOTIONS.get(emotion.strip().lower())
    if suffix is None:
        return None
    prefix = "male" if gender.strip().lower() in ("male", "m", "masculine") else "female"
    return f"{prefix}_{suffix}"


class PlayHTTTS(StreamingHTTPTTS):
    """PlayHT over the streamed ``/api/v2/tts/stream`` REST API."""

    provider_id = "playht"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        require_credential(self.config, self.provider_id, self.kind, option="user_id")

    @property
    def engine(self) -> str:
        return str(self.config.options.get("voice_engine") or self.config.model or DEFAULT_ENGINE)

    def output_format(self) -> tuple[str, str, int]:
        """(PlayHT ``output_format``, waav encoding of the body, sample rate)."""
        encoding, rate = requested_format(self.config)
        if encoding == "mulaw" and rate == 8000:
            return "mulaw", "mulaw", 8000
        if encoding in _PASSTHROUGH:
            return _PASSTHROUGH[encoding], encoding, min(48000, max(8000, rate))
        return "raw", "linear16", min(48000, max(8000, rate))

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
            "voice_engine": self.engine,
            "output_format": fmt,
            "sample_rate": rate,
        }
        if cfg.speaking_rate != 1.0:
            body["speed"] = min(5.0, max(0.1, cfg.speaking_rate))
        for key in ("quality", "voice_guidance", "text_guidance", "temperature", "seed", "language"):
            if key in cfg.options:
                body[key] = cfg.options[key]
        emo = cfg.emotion_config
        if emo is not None and self.engine.startswith("PlayHT2.0"):
            value = playht_emotion(emo.emotion or "", str(cfg.options.get("voice_gender") or "female"))
            if value:
                body["emotion"] = value
                if "style_guidance" not in cfg.options:
                    body["style_guidance"] = round(1 + 29 * emotion_intensity(cfg))
        if "style_guidance" in cfg.options:
            body["style_guidance"] = cfg.options["style_guidance"]
        return body

    def _headers(self) -> dict[str, str]:
        return {
            "X-USER-ID": require_credential(self.config, self.provider_id, self.kind, option="user_id"),
            "AUTHORIZATION": require_credential(self.config, self.provider_id, self.kind),
        }

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, DEFAULT_BASE_URL) + "/api/v2/tts/stream"
        headers = {**self._headers(), "accept": _ACCEPT[self.output_format()[0]]}
        async with client.stream("POST", url, json=self.body(text), headers=headers) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """PlayHT's prebuilt voices (``GET /api/v2/voices``)."""
        url = base_url(self.config, DEFAULT_BASE_URL) + "/api/v2/voices"
        data = await fetch_json(self.config, self.provider_id, url, headers=self._headers())
        return [
            Voice(
                id=str(v["id"]),
                name=str(v.get("name") or ""),
                language=v.get("language_code") or v.get("language"),
                gender=(str(v["gender"]).lower() if v.get("gender") else None),
                accent=v.get("accent"),
                sample=v.get("sample"),
            )
            for v in (data if isinstance(data, list) else [])
        ]


def _create(config: TTSConfig) -> PlayHTTTS:
    return PlayHTTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-playht``.
PLUGIN = PluginConstructor.tts("playht", None, _create)

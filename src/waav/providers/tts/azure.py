"""Microsoft Azure neural text-to-speech: SSML over REST, emotion through ``mstts:express-as``.

Request: ``POST https://{region}.tts.speech.microsoft.com/cognitiveservices/v1`` with
``Ocp-Apim-Subscription-Key``, ``Content-Type: application/ssml+xml``,
``X-Microsoft-OutputFormat`` and a ``User-Agent``; the body is an SSML document:

.. code-block:: xml

    <speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"
           xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang="en-US">
      <voice name="en-US-JennyNeural">
        <mstts:express-as style="cheerful" styledegree="1.6">
          <prosody rate="+20%">Hello!</prosody>
        </mstts:express-as>
      </voice>
    </speak>

The output format is chosen from Azure's raw (headerless) formats so audio streams from the
first byte: ``raw-{8k,16k,22050,24k,44100,48k}…-16bit-mono-pcm``, ``raw-8khz-8bit-mono-mulaw``
and ``-alaw`` (passed through untouched for 8 kHz telephony clients); mp3/opus/webm clients
get the matching Azure compressed format, passed through. Text that already is an SSML
document (starts with ``<speak``) is sent as is.

Emotion (upstream's ``emotion_config``): ``emotion`` and ``delivery_style`` map to an Azure
speaking style (happy→cheerful, whispered→whispering, …; Azure style names pass through),
``intensity`` 0–1 to ``styledegree`` 0.01–2 (0.5 → Azure's default 1). Options: ``region``
(``AZURE_SPEECH_REGION``, default ``eastus``), ``style``, ``role``, ``language``.
Voices: ``GET /cognitiveservices/voices/list``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from xml.sax.saxutils import escape, quoteattr

import httpx

from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response, require_credential
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import (
    configured_voice,
    emotion_intensity,
    fetch_json,
    nearest_rate,
    requested_format,
)

__all__ = ["DEFAULT_VOICE", "PLUGIN", "AzureTTS", "azure_style"]

DEFAULT_VOICE = "en-US-JennyNeural"
DEFAULT_REGION = "eastus"
PCM_FORMATS = {
    8000: "raw-8khz-16bit-mono-pcm",
    16000: "raw-16khz-16bit-mono-pcm",
    22050: "raw-22050hz-16bit-mono-pcm",
    24000: "raw-24khz-16bit-mono-pcm",
    44100: "raw-44100hz-16bit-mono-pcm",
    48000: "raw-48khz-16bit-mono-pcm",
}
G711_FORMATS = {"mulaw": "raw-8khz-8bit-mono-mulaw", "alaw": "raw-8khz-8bit-mono-alaw"}
COMPRESSED_FORMATS = {
    "mp3": ("audio-24khz-48kbitrate-mono-mp3", 24000),
    "opus": ("ogg-24khz-16bit-mono-opus", 24000),
    "ogg": ("ogg-24khz-16bit-mono-opus", 24000),
    "webm": ("webm-24khz-16bit-mono-opus", 24000),
}

#: Upstream emotion / delivery names → Azure speaking styles (Azure names pass through).
STYLES = {
    "happy": "cheerful",
    "joyful": "cheerful",
    "cheerful": "cheerful",
    "sad": "sad",
    "angry": "angry",
    "excited": "excited",
    "calm": "calm",
    "fearful": "fearful",
    "scared": "terrified",
    "terrified": "terrified",
    "sarcastic": "unfriendly",
    "friendly": "friendly",
    "hopeful": "hopeful",
    "empathetic": "empathetic",
    "serious": "serious",
    "gentle": "gentle",
    "whispered": "whispering",
    "whisper": "whispering",
    "shouted": "shouting",
    "shouting": "shouting",
    "newscast": "newscast",
    "narration": "narration-professional",
}


def azure_style(name: str | None) -> str | None:
    """The Azure speaking style for an emotion or delivery name (None for none)."""
    if not name:
        return None
    key = name.strip().lower()
    return STYLES.get(key, key.replace(" ", "-"))


class AzureTTS(StreamingHTTPTTS):
    """Azure neural TTS over the SSML REST endpoint."""

    provider_id = "microsoft-azure"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)

    @property
    def voice(self) -> str:
        return configured_voice(self.config) or DEFAULT_VOICE

    @property
    def root(self) -> str:
        region = str(self.config.options.get("region") or DEFAULT_REGION)
        return base_url(self.config, f"https://{region}.tts.speech.microsoft.com")

    def output_format(self) -> tuple[str, str, int]:
        """(``X-Microsoft-OutputFormat``, encoding, rate) for the current config."""
        encoding, rate = requested_format(self.config)
        if encoding in G711_FORMATS and rate == 8000:
            return G711_FORMATS[encoding], encoding, 8000
        if encoding in COMPRESSED_FORMATS:
            name, native = COMPRESSED_FORMATS[encoding]
            return name, encoding, native
        pcm_rate = nearest_rate(rate, PCM_FORMATS)
        return PCM_FORMATS[pcm_rate], "linear16", pcm_rate

    def vendor_format(self) -> tuple[str, int]:
        _, encoding, rate = self.output_format()
        return encoding, rate

    def ssml(self, text: str) -> str:
        """The SSML document for ``text`` (voice, prosody rate, express-as style)."""
        if text.lstrip().startswith("<speak"):
            return text
        voice = self.voice
        lang = str(self.config.options.get("language") or "-".join(voice.split("-")[:2]) or "en-US")
        body = escape(text)
        if self.config.speaking_rate != 1.0:
            rate = f"{(self.config.speaking_rate - 1) * 100:+.0f}%"
            body = f"<prosody rate={quoteattr(rate)}>{body}</prosody>"
        emo = self.config.emotion_config
        style = azure_style(self.config.options.get("style"))
        if style is None and emo is not None:
            style = azure_style(emo.emotion) or azure_style(emo.delivery_style)
        if style is not None:
            attrs = f" style={quoteattr(style)}"
            if emo is not None and emo.intensity is not None:
                degree = max(0.01, min(2.0, round(2 * emotion_intensity(self.config), 2)))
                attrs += f' styledegree="{degree:g}"'
            if self.config.options.get("role"):
                attrs += f" role={quoteattr(str(self.config.options['role']))}"
            body = f"<mstts:express-as{attrs}>{body}</mstts:express-as>"
        return (
            '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
            f'xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang={quoteattr(lang)}>'
            f"<voice name={quoteattr(voice)}>{body}</voice></speak>"
        )

    def _headers(self) -> dict[str, str]:
        return {"Ocp-Apim-Subscription-Key": require_credential(self.config, self.provider_id, self.kind)}

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        headers = {
            **self._headers(),
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": self.output_format()[0],
            "User-Agent": "waav",
        }
        url = self.root + "/cognitiveservices/v1"
        async with client.stream("POST", url, content=self.ssml(text).encode(), headers=headers) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    async def list_voices(self) -> list[Voice]:
        """Azure's voices for the region (``GET /cognitiveservices/voices/list``)."""
        data = await fetch_json(
            self.config,
            self.provider_id,
            self.root + "/cognitiveservices/voices/list",
            headers=self._headers(),
        )
        return [
            Voice(
                id=str(v.get("ShortName") or v.get("Name")),
                name=str(v.get("DisplayName") or v.get("LocalName") or ""),
                language=v.get("Locale"),
                gender=(str(v["Gender"]).lower() if v.get("Gender") else None),
                accent=v.get("LocaleName"),
            )
            for v in data
        ]


def _create(config: TTSConfig) -> AzureTTS:
    return AzureTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-microsoft-azure``.
PLUGIN = PluginConstructor.tts("microsoft-azure", None, _create)

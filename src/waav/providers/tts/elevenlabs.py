"""ElevenLabs text-to-speech: streaming REST for whole texts, WebSocket stream-input for
incremental text.

REST (``speak(text)``): ``POST {base}/v1/text-to-speech/{voice_id}/stream?output_format=…``
with ``xi-api-key`` and JSON ``{text, model_id, voice_settings{stability, similarity_boost,
style?, use_speaker_boost?, speed?}, previous_text?}``; the body is the audio, streamed.

WebSocket (``speak(chunk, flush=False)`` … ``flush``): ``{ws}/v1/text-to-speech/{voice_id}/
stream-input?model_id=…&output_format=…&inactivity_timeout=…`` with ``xi-api-key``. The first
message is ``{"text": " ", "voice_settings": …}``, then one ``{"text": "<words> "}`` per
piece, then ``{"text": ""}`` (end of input); audio arrives as ``{"audio": <base64>,
"isFinal": null, "alignment": {...}}`` messages, ending with ``{"isFinal": true}``.
ElevenLabs closes a stream that received no text for 20 s (``inactivity_timeout``, raised
here to the option ``inactivity_timeout``, default 60, max 180); while the caller is slow to
produce text the adapter sends the documented single-space keep-alive every
``keepalive_interval`` (default 15) seconds. If the socket is closed anyway, the adapter
reconnects and re-sends exactly the text whose audio had not arrived yet (counted from the
``alignment`` characters), so no words are lost or repeated.

Output formats (``output_format``): ``pcm_{8000,16000,22050,24000,44100,48000}``,
``ulaw_8000``, ``alaw_8000``, ``mp3_44100_128``. PCM is requested at the client's rate when
offered (ElevenLabs' own default is mp3, and 22.05 kHz in several SDKs — waav always names
the format), µ-law/A-law 8 kHz clients get ``ulaw_8000``/``alaw_8000`` untouched.

Emotion: ``eleven_v3`` takes audio tags in the text, so ``emotion`` / ``delivery_style``
become a leading tag (``[happy]``, ``[whispers]`` …); other models get the intensity as
``voice_settings.style`` (style exaggeration). Voices: ``GET /v2/voices`` (paginated).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from waav._exceptions import (
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimitError,
)
from waav.plugin import PluginConstructor
from waav.providers._common import base_url, error_from_exception, raise_for_response, require_credential
from waav.providers._stream import ws_url as http_to_ws
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._stream_input import StreamingInputTTS, TextStream
from waav.providers.tts._util import (
    configured_voice,
    emotion_intensity,
    fetch_json,
    float_option,
    nearest_rate,
    requested_format,
)

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_VOICE", "PLUGIN", "ElevenLabsTTS"]

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
#: "George", the voice of ElevenLabs' API reference examples.
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"
DEFAULT_MODEL = "eleven_v3"
#: eleven_v3 is not offered on the WebSocket API; the low-latency model is used there.
DEFAULT_WS_MODEL = "eleven_flash_v2_5"
PCM_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
#: emotion / delivery names → eleven_v3 audio tags
TAGS = {"whispered": "whispers", "whisper": "whispers", "shouted": "shouting", "laughing": "laughs"}
_MAX_RECONNECTS = 3


@dataclass
class _WSState:
    sent: str = ""  # text sent on this utterance, in order
    done_chars: int = 0  # characters whose audio has arrived (from the alignment)
    input_done: bool = False


class ElevenLabsTTS(StreamingInputTTS):
    """ElevenLabs over streaming REST, and its stream-input WebSocket for incremental text."""

    provider_id = "elevenlabs"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self._voice_settings()  # validates the numeric options

    @property
    def voice(self) -> str:
        return configured_voice(self.config) or DEFAULT_VOICE

    def output_format(self) -> tuple[str, str, int]:
        """(ElevenLabs ``output_format``, encoding, rate)."""
        encoding, rate = requested_format(self.config)
        if encoding == "mulaw" and rate == 8000:
            return "ulaw_8000", "mulaw", 8000
        if encoding == "alaw" and rate == 8000:
            return "alaw_8000", "alaw", 8000
        if encoding == "mp3":
            return "mp3_44100_128", "mp3", 44100
        pcm = nearest_rate(rate, PCM_RATES)
        return f"pcm_{pcm}", "linear16", pcm

    def vendor_format(self) -> tuple[str, int]:
        _, encoding, rate = self.output_format()
        return encoding, rate

    def _voice_settings(self, ws: bool = False) -> dict[str, Any]:
        cfg = self.config
        settings: dict[str, Any] = {
            "stability": float_option(cfg, "stability", 0.5, 0.0, 1.0),
            "similarity_boost": float_option(cfg, "similarity_boost", 0.75, 0.0, 1.0),
        }
        if "style" in cfg.options:
            settings["style"] = float_option(cfg, "style", 0.0, 0.0, 1.0)
        elif cfg.emotion_config is not None and not self._model(ws).startswith("eleven_v3"):
            settings["style"] = round(emotion_intensity(cfg), 3)
        if "use_speaker_boost" in cfg.options:
            settings["use_speaker_boost"] = bool(cfg.options["use_speaker_boost"])
        if cfg.speaking_rate != 1.0:
            settings["speed"] = min(1.2, max(0.7, cfg.speaking_rate))  # ElevenLabs' range
        return settings

    def _model(self, ws: bool = False) -> str:
        return self.config.model or (DEFAULT_WS_MODEL if ws else DEFAULT_MODEL)

    def _tagged(self, text: str, ws: bool = False) -> str:
        """Prefix eleven_v3 audio tags for the emotion fields."""
        emo = self.config.emotion_config
        if emo is None or not self._model(ws).startswith("eleven_v3"):
            return text
        tags = [
            TAGS.get(n.strip().lower(), n.strip().lower()) for n in (emo.emotion, emo.delivery_style) if n
        ]
        return "".join(f"[{t}] " for t in tags) + text

    def _headers(self) -> dict[str, str]:
        return {"xi-api-key": require_credential(self.config, self.provider_id, self.kind)}

    @property
    def root(self) -> str:
        return base_url(self.config, DEFAULT_BASE_URL)

    # --- REST --------------------------------------------------------------------------
    def body(self, text: str) -> dict[str, Any]:
        """The JSON body of a REST request for ``text``."""
        body: dict[str, Any] = {
            "text": self._tagged(text),
            "model_id": self._model(),
            "voice_settings": self._voice_settings(),
        }
        if self.previous_text and self.config.options.get("previous_text", True):
            body["previous_text"] = self.previous_text
        return body

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = f"{self.root}/v1/text-to-speech/{quote(self.voice, safe='')}/stream"
        params = {"output_format": self.output_format()[0]}
        async with client.stream(
            "POST", url, params=params, json=self.body(text), headers=self._headers()
        ) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    # --- WebSocket stream-input ---------------------------------------------------------
    def ws_url(self) -> str:
        """The stream-input URL for the current config."""
        root = str(self.config.options.get("ws_base_url") or http_to_ws(self.root)).rstrip("/")
        query = {
            "model_id": self._model(ws=True),
            "output_format": self.output_format()[0],
            "inactivity_timeout": int(float_option(self.config, "inactivity_timeout", 60, 1, 180)),
        }
        return f"{root}/v1/text-to-speech/{quote(self.voice, safe='')}/stream-input?{urlencode(query)}"

    async def _open_ws(self) -> ClientConnection:
        try:
            return await connect(
                self.ws_url(),
                additional_headers=self._headers(),
                open_timeout=self.config.connection_timeout,
                max_size=None,
            )
        except Exception as exc:
            raise error_from_exception(exc, self.provider_id) from exc

    async def stream_request(self, client: httpx.AsyncClient, text: TextStream) -> AsyncIterator[bytes]:
        state = _WSState()
        keepalive = float_option(self.config, "keepalive_interval", 15.0, 0.001, 170.0)
        reconnects = 0
        while True:
            ws = await self._open_ws()
            init: dict[str, Any] = {"text": " ", "voice_settings": self._voice_settings(ws=True)}
            if "chunk_length_schedule" in self.config.options:
                init["generation_config"] = {
                    "chunk_length_schedule": list(self.config.options["chunk_length_schedule"])
                }
            sender: asyncio.Task[None] | None = None
            try:
                await ws.send(json.dumps(init))
                resend = state.sent[state.done_chars :]
                if resend:
                    await ws.send(json.dumps({"text": resend}))
                if state.input_done:
                    await ws.send(json.dumps({"text": ""}))
                else:
                    sender = asyncio.create_task(self._send_text(ws, text, state, keepalive))
                async for raw in ws:
                    msg = json.loads(raw)
                    if not isinstance(msg, dict):
                        raise ProviderProtocolError(f"{self.provider_id}: unexpected message {raw!r:.100}")
                    if msg.get("error") or (msg.get("message") and "audio" not in msg):
                        raise self._ws_error(msg)
                    audio = msg.get("audio")
                    if audio:
                        chars = (msg.get("alignment") or {}).get("chars") or []
                        state.done_chars += len(chars)
                        yield base64.b64decode(audio)
                    if msg.get("isFinal"):
                        return
                    if sender is not None and sender.done() and sender.exception() is not None:
                        raise sender.exception()  # type: ignore[misc]
                closed: BaseException | None = None
            except ConnectionClosed as exc:
                closed = exc
            finally:
                if sender is not None:
                    sender.cancel()
                    with contextlib.suppress(BaseException):
                        await sender
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
            # The stream ended before isFinal (idle close, vendor restart): continue on a new one.
            reconnects += 1
            if reconnects > _MAX_RECONNECTS:
                raise ProviderConnectionError(
                    f"{self.provider_id}: stream-input closed before the end ({closed})",
                    provider=self.provider_id,
                )

    async def _send_text(
        self, ws: ClientConnection, text: TextStream, state: _WSState, keepalive: float
    ) -> None:
        while True:
            try:
                piece = await text.next(keepalive)
            except asyncio.TimeoutError:
                await ws.send(json.dumps({"text": " "}))  # keep-alive: no audio, resets the idle timer
                continue
            if piece is None:
                state.input_done = True
                await ws.send(json.dumps({"text": ""}))  # end of input: generate the rest, then isFinal
                return
            if not piece.endswith((" ", "\n")):
                piece += " "  # ElevenLabs: each text message should end with a space
            piece = self._tagged(piece, ws=True) if not state.sent else piece
            state.sent += piece
            await ws.send(json.dumps({"text": piece}))

    def _ws_error(self, msg: dict[str, Any]) -> ProviderError:
        text = str(msg.get("message") or msg.get("error"))
        kind = str(msg.get("error") or "").lower()
        err = f"{self.provider_id}: {text}"
        if "auth" in kind or "api_key" in kind or "unauthorized" in kind:
            return ProviderAuthError(err, provider=self.provider_id)
        if "quota" in kind or "rate" in kind or "concurren" in kind:
            return ProviderRateLimitError(err, provider=self.provider_id)
        return ProviderError(err, provider=self.provider_id)

    # --- voices -------------------------------------------------------------------------
    async def list_voices(self) -> list[Voice]:
        """The account's voices (``GET /v2/voices``, following ``next_page_token``)."""
        voices: list[Voice] = []
        params: dict[str, Any] = {"page_size": 100}
        for _ in range(50):
            data = await fetch_json(
                self.config,
                self.provider_id,
                self.root + "/v2/voices",
                headers=self._headers(),
                params=params,
            )
            for v in data.get("voices", []):
                labels = v.get("labels") or {}
                voices.append(
                    Voice(
                        id=str(v["voice_id"]),
                        name=str(v.get("name") or ""),
                        language=labels.get("language"),
                        gender=labels.get("gender"),
                        accent=labels.get("accent"),
                        sample=v.get("preview_url"),
                    )
                )
            token = data.get("next_page_token")
            if not data.get("has_more") or not token:
                break
            params = {"page_size": 100, "next_page_token": token}
        return voices


def _create(config: TTSConfig) -> ElevenLabsTTS:
    return ElevenLabsTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-elevenlabs``.
PLUGIN = PluginConstructor.tts("elevenlabs", None, _create)

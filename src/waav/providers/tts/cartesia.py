"""Cartesia Sonic text-to-speech: ``/tts/bytes`` REST for whole texts, the WebSocket API with
contexts and continuations for incremental text.

REST (``speak(text)``): ``POST {base}/tts/bytes`` with ``Authorization: Bearer <key>``,
``Cartesia-Version`` and JSON ``{model_id, transcript, voice: {mode: "id", id}, output_format:
{container, encoding, sample_rate}, language, generation_config?}``; the body is the audio,
streamed as it is generated.

WebSocket (``speak(chunk, flush=False)`` … ``flush``): one socket per session at
``{ws}/tts/websocket?cartesia_version=…`` (same auth header), reused by every utterance and
reopened when Cartesia has closed it for idleness. Each utterance is a context: every piece
of text goes out as a generation request with the utterance's ``context_id`` and
``"continue": true``; the end of input is an empty ``transcript`` with ``"continue": false``.
Audio arrives as ``{"type": "chunk", "data": <base64>, "context_id"}`` until
``{"type": "done"}``; ``{"type": "error"}`` fails the utterance. ``clear`` sends
``{"context_id", "cancel": true}`` and leaves the socket open for the next utterance.
Cartesia expires a context about 1 s after its last audio output, so an utterance whose text
pauses longer than option ``context_max_idle`` (default 0.8 s) continues on a fresh context,
and an expiry error re-sends the unvoiced text on one (:mod:`._cartesia_contexts`).

Formats: ``container: raw`` with ``pcm_s16le``, ``pcm_f32le``, ``pcm_mulaw`` or ``pcm_alaw``
at 8/16/22.05/24/44.1/48 kHz, so every PCM-family client format and rate is requested
natively (no conversion here); mp3 clients get ``container: mp3``, passed through.

Emotion: ``generation_config.emotion`` (Sonic 3) from ``emotion`` (``fearful`` → ``scared``);
``speaking_rate`` → ``generation_config.speed`` (0.6–1.5), option ``volume`` (0.5–2.0).
Options: ``cartesia_version`` (default ``2025-04-16``), ``language`` (default ``en``).
Voices: ``GET /voices``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from waav._exceptions import ProviderConnectionError, ProviderError, ProviderProtocolError
from waav.plugin import PluginConstructor
from waav.providers._common import (
    base_url,
    error_for_status,
    error_from_exception,
    raise_for_response,
    require_credential,
)
from waav.providers._stream import ws_url as http_to_ws
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._cartesia_contexts import ContextChain, Outcome
from waav.providers.tts._stream_input import StreamingInputTTS, TextStream
from waav.providers.tts._util import (
    configured_voice,
    fetch_json,
    float_option,
    nearest_rate,
    requested_format,
)

__all__ = ["API_VERSION", "DEFAULT_BASE_URL", "DEFAULT_VOICE", "PLUGIN", "CartesiaTTS"]

DEFAULT_BASE_URL = "https://api.cartesia.ai"
API_VERSION = "2025-04-16"
DEFAULT_MODEL = "sonic-3"
#: A stock voice from Cartesia's API examples.
DEFAULT_VOICE = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"
#: Seconds of audio idleness after which the next piece goes to a fresh context; below
#: Cartesia's documented context expiry (1 s after the last audio output).
CONTEXT_MAX_IDLE = 0.8
RATES = (8000, 16000, 22050, 24000, 44100, 48000)
_ENCODINGS = {"linear16": "pcm_s16le", "float32": "pcm_f32le", "mulaw": "pcm_mulaw", "alaw": "pcm_alaw"}
_EMOTIONS = {"fearful": "scared", "fear": "scared", "happy": "happy", "joyful": "happy"}


class CartesiaTTS(StreamingInputTTS):
    """Cartesia Sonic over ``/tts/bytes``, and its WebSocket (contexts) for incremental text."""

    provider_id = "cartesia"

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._ws: ClientConnection | None = None
        self._ws_lock = asyncio.Lock()

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self._generation_config()
        _ = self.context_max_idle

    @property
    def context_max_idle(self) -> float:
        """Option ``context_max_idle`` (seconds, default 0.8): how long a context's audio may
        have been idle before the next piece moves to a fresh context (Cartesia expires one
        about 1 s after its last audio)."""
        return float_option(self.config, "context_max_idle", CONTEXT_MAX_IDLE, 0.0, 60.0)

    @property
    def version(self) -> str:
        return str(self.config.options.get("cartesia_version") or API_VERSION)

    @property
    def root(self) -> str:
        return base_url(self.config, DEFAULT_BASE_URL)

    def _headers(self) -> dict[str, str]:
        key = require_credential(self.config, self.provider_id, self.kind)
        return {"Authorization": f"Bearer {key}", "Cartesia-Version": self.version}

    # --- formats and request fields ------------------------------------------------------
    def output_format(self) -> dict[str, Any]:
        encoding, rate = requested_format(self.config)
        if encoding == "mp3":
            return {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}
        return {
            "container": "raw",
            "encoding": _ENCODINGS.get(encoding, "pcm_s16le"),
            "sample_rate": nearest_rate(rate, RATES),
        }

    def vendor_format(self) -> tuple[str, int]:
        fmt = self.output_format()
        if fmt["container"] == "mp3":
            return "mp3", fmt["sample_rate"]
        inverse = {v: k for k, v in _ENCODINGS.items()}
        return inverse[fmt["encoding"]], fmt["sample_rate"]

    def _generation_config(self) -> dict[str, Any]:
        cfg = self.config
        gen: dict[str, Any] = {}
        if cfg.speaking_rate != 1.0:
            gen["speed"] = min(1.5, max(0.6, cfg.speaking_rate))
        if "volume" in cfg.options:
            gen["volume"] = float_option(cfg, "volume", 1.0, 0.5, 2.0)
        emo = cfg.emotion_config
        if emo is not None and emo.emotion:
            key = emo.emotion.strip().lower()
            gen["emotion"] = _EMOTIONS.get(key, key)
        return gen

    def _fields(self) -> dict[str, Any]:
        """The generation fields shared by REST and every WebSocket message."""
        fields: dict[str, Any] = {
            "model_id": self.config.model or DEFAULT_MODEL,
            "voice": {"mode": "id", "id": configured_voice(self.config) or DEFAULT_VOICE},
            "output_format": self.output_format(),
            "language": str(self.config.options.get("language") or "en"),
        }
        gen = self._generation_config()
        if gen:
            fields["generation_config"] = gen
        return fields

    # --- REST ----------------------------------------------------------------------------
    def body(self, text: str) -> dict[str, Any]:
        return {**self._fields(), "transcript": text}

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        async with client.stream(
            "POST", self.root + "/tts/bytes", json=self.body(text), headers=self._headers()
        ) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk

    # --- WebSocket -------------------------------------------------------------------------
    def ws_url(self) -> str:
        root = str(self.config.options.get("ws_base_url") or http_to_ws(self.root)).rstrip("/")
        return f"{root}/tts/websocket?{urlencode({'cartesia_version': self.version})}"

    async def _socket(self) -> ClientConnection:
        """The session's socket, (re)opened when missing or closed by Cartesia."""
        async with self._ws_lock:
            if self._ws is None or self._ws.state is not State.OPEN:
                try:
                    self._ws = await connect(
                        self.ws_url(),
                        additional_headers=self._headers(),
                        open_timeout=self.config.connection_timeout,
                        max_size=None,
                    )
                except Exception as exc:
                    raise error_from_exception(exc, self.provider_id) from exc
            return self._ws

    async def stream_request(self, client: httpx.AsyncClient, text: TextStream) -> AsyncIterator[bytes]:
        ws = await self._socket()
        chain = ContextChain(ws, self._fields(), self.context_max_idle)
        sender = asyncio.create_task(self._send_text(chain, text))
        finished = False
        try:
            while True:
                try:
                    raw = await ws.recv()
                except ConnectionClosed as exc:
                    if sender.done() and not sender.cancelled() and sender.exception() is not None:
                        raise sender.exception() from exc  # type: ignore[misc]
                    raise ProviderConnectionError(
                        f"{self.provider_id}: WebSocket closed mid-utterance ({exc})",
                        provider=self.provider_id,
                    ) from exc
                msg = json.loads(raw)
                if not isinstance(msg, dict):
                    raise ProviderProtocolError(f"{self.provider_id}: unexpected message {raw!r:.100}")
                if msg.get("context_id") != chain.ctx:
                    continue  # a cancelled or superseded context's tail, or another generation
                kind = msg.get("type")
                if kind == "chunk" and msg.get("data"):
                    chain.on_audio()
                    yield base64.b64decode(msg["data"])
                elif kind == "error" or msg.get("error"):
                    status = int(msg.get("status_code") or 500)
                    detail = str(msg.get("error") or msg.get("message") or msg.get("title") or msg)
                    outcome = await chain.on_error(status, detail)
                    if outcome is Outcome.RETRY:
                        continue
                    finished = True
                    if outcome is Outcome.COMPLETE:
                        return
                    if status >= 400:
                        raise error_for_status(
                            status, json.dumps({"message": detail}), None, self.provider_id
                        )
                    raise ProviderError(f"{self.provider_id}: {detail}", provider=self.provider_id)
                elif msg.get("done") and chain.on_done():
                    finished = True
                    return
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            if not finished and ws.state is State.OPEN:
                # barge-in (or an error): tell Cartesia to stop this context; keep the socket
                with contextlib.suppress(Exception):
                    msg = json.dumps({"context_id": chain.ctx, "cancel": True})
                    await asyncio.wait_for(ws.send(msg), 1.0)

    @staticmethod
    async def _send_text(chain: ContextChain, text: TextStream) -> None:
        async for piece in text:
            await chain.push(piece)
        await chain.end()

    async def disconnect(self) -> None:
        await super().disconnect()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2.0)

    # --- voices ---------------------------------------------------------------------------
    async def list_voices(self) -> list[Voice]:
        """Cartesia's voices (``GET /voices``, following ``next_page``)."""
        voices: list[Voice] = []
        params: dict[str, Any] = {"limit": 100}
        for _ in range(50):
            data = await fetch_json(
                self.config, self.provider_id, self.root + "/voices", headers=self._headers(), params=params
            )
            items = data if isinstance(data, list) else data.get("data", [])
            for v in items:
                voices.append(
                    Voice(
                        id=str(v["id"]),
                        name=str(v.get("name") or ""),
                        language=v.get("language"),
                        gender=v.get("gender"),
                    )
                )
            if isinstance(data, list) or not data.get("has_more") or not data.get("next_page"):
                break
            params = {"limit": 100, "starting_after": data["next_page"]}
        return voices


def _create(config: TTSConfig) -> CartesiaTTS:
    return CartesiaTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-cartesia``.
PLUGIN = PluginConstructor.tts("cartesia", None, _create)
